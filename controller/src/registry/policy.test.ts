import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AddressLookup } from './destination.js';
import { isLoopback, RegistryPolicy } from './policy.js';

const dns: Record<string, string[]> = {
  'localhost': ['127.0.0.1', '::1'],
  'ghcr.io': ['140.82.112.34'],
  'sneaky.example.com': ['93.184.216.34', '169.254.169.254'],
  'registry.example.com': ['10.0.0.5'],
};
const lookup: AddressLookup = (host, _options, callback) => {
  const addresses = dns[host];
  if (addresses === undefined) return callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
  callback(null, addresses.map((address): LookupAddress => ({ address, family: isIP(address) })));
};

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
    const check = new RegistryPolicy({ allowedRegistries: allowed, lookup }).admitRegistry(registry, endpoint);
    if (refusal === undefined) await expect(check).resolves.toBeUndefined();
    else await expect(check).rejects.toMatchObject({ reason: 'RegistryNotAllowed', message: expect.stringContaining(refusal) });
  });
});

describe('isLoopback', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:5000', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['localhost.example.com:5000', false],
    ['127.0.0.1.nip.io', false],
    ['10.0.0.1:5000', false],
    ['[::2]:5000', false],
    ['registry.example.test', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
