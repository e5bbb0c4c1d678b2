import { describe, expect, it } from 'vitest';
import { RegistryPolicy } from './registry-policy.js';

const dns: Record<string, string[]> = {
  'localhost': ['127.0.0.1', '::1'],
  'ghcr.io': ['140.82.112.34'],
  'sneaky.example.com': ['93.184.216.34', '169.254.169.254'],
  'registry.example.com': ['10.0.0.5'],
};
const lookup = async (host: string) => dns[host] ?? Promise.reject(new Error('ENOTFOUND'));

describe('RegistryPolicy', () => {
  it.each<[string[], string, string, string | undefined]>([
    [[], 'ghcr.io', 'ghcr.io', undefined],
    [[], 'localhost:5000', 'kind-registry:5000', undefined], // unresolvable here: the registry client reports it
    [[], '169.254.169.254', '169.254.169.254', 'link-local or cloud metadata'],
    [[], 'sneaky.example.com', 'sneaky.example.com', 'resolves to 169.254.169.254'],
    [[], 'metadata.google.internal', 'metadata.google.internal', 'cloud metadata'],
    [[], '[fe80::1]:5000', '[fe80::1]:5000', 'link-local'],
    [['*.example.com'], 'registry.example.com', 'registry.example.com', undefined],
    [['*.example.com'], 'ghcr.io', 'ghcr.io', '--allowed-registries'],
    [['*.example.com'], 'sneaky.example.com', 'sneaky.example.com', 'link-local'],
    // A forbidden address the flag does not list is refused for what it is, not for the flag.
    [['ghcr.io'], '[::ffff:a9fe:a9fe]:80', '[::ffff:a9fe:a9fe]:80', 'link-local or cloud metadata'],
    [['ghcr.io'], 'metadata.google.internal', 'metadata.google.internal', 'cloud metadata'],
    [['localhost'], 'localhost:5000', 'localhost:5000', undefined],
    [['localhost:5001'], 'localhost:5000', 'localhost:5000', '--allowed-registries'],
    [['localhost:5000'], 'localhost:5000', 'kind-registry:5000', undefined], // allowed as named; the alias is checked for addresses only
  ])('allowed %j: %s via %s → %s', async (allowed, registry, endpoint, refusal) => {
    const check = new RegistryPolicy({ allowed, lookup }).check(registry, endpoint);
    if (refusal === undefined) await expect(check).resolves.toBeUndefined();
    else await expect(check).rejects.toMatchObject({ reason: 'RegistryNotAllowed', message: expect.stringContaining(refusal) });
  });
});
