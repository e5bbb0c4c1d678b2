/**
 * Registry connections are kept alive across checks: against the real registry (Debian's
 * docker-registry), over TLS, with token auth, and for answers that are errors, checks spaced further
 * apart than undici's default keep-alive (4 s, which closed every connection between two checks at the
 * default 10 s interval) go over one connection. A TCP counter in front of the registry counts the
 * connections opened; it has no keep-alive policy of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageReason } from '../../controller/src/api/image.js';
import { parseImageReference, RegistryClient, type ResolveOptions } from '../../controller/src/registry/index.js';
import { startConnectionCounter, type ConnectionCounter } from '../../bench/connection-counter.js';
import { pushImage, writeImageLayout } from '../support/oci.js';
import { startRegistry, type Registry } from '../support/registry.js';

/** Longer than undici's default keepAliveTimeout (4 s), shorter than the controller's (60 s). */
const GAP_BETWEEN_CHECKS_MS = 5_000;
const CHECKS = 3;

let work: string;
const registries: Registry[] = [];
const counters: ConnectionCounter[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'connection-reuse-'));
});
afterAll(async () => {
  await Promise.all(counters.map((counter) => counter.stop()));
  await Promise.all(registries.map((registry) => registry.stop()));
  await rm(work, { recursive: true, force: true });
});

/** A registry with `apps/reuse:1` pushed, and a connection counter in front of it. */
async function registryBehindCounter(options: Parameters<typeof startRegistry>[0]) {
  const registry = await startRegistry(options);
  registries.push(registry);
  const layout = await writeImageLayout(join(work, `layout-${registries.length}`));
  await pushImage(layout, `${registry.host}/apps/reuse:1`, { creds: registry.creds, certDir: registry.certDir });
  const counter = await startConnectionCounter(registry.host);
  counters.push(counter);
  return { registry, counter };
}

describe('connections to a registry are reused across checks', () => {
  it.each<[string, Parameters<typeof startRegistry>[0], (registry: Registry) => ResolveOptions, string, ImageReason | undefined]>([
    ['TLS with a private CA', { tls: true }, (registry) => ({ caPem: registry.caPem }), 'apps/reuse:1', undefined],
    ['token auth (401, token, then the token up front)', { tokenAuth: true }, (registry) => ({ credentials: { username: registry.username, password: registry.password } }), 'apps/reuse:1', undefined],
    ['an unknown tag (404 answers, with bodies, and a tag list)', {}, () => ({}), 'apps/reuse:missing', ImageReason.NotFound],
  ])('%s', async (_name, registryOptions, resolveOptions, subject, failsWith) => {
    const { registry, counter } = await registryBehindCounter(registryOptions);
    const client = new RegistryClient();
    try {
      const openedByCheck: number[] = [];
      for (let check = 0; check < CHECKS; check++) {
        if (check > 0) await sleep(GAP_BETWEEN_CHECKS_MS);
        const before = counter.accepted;
        const outcome = client.resolveDigest(parseImageReference(`${counter.host}/${subject}`), resolveOptions(registry));
        if (failsWith) await expect(outcome).rejects.toMatchObject({ reason: failsWith });
        else await expect(outcome).resolves.toMatchObject({ digest: expect.stringMatching(/^sha256:/) });
        openedByCheck.push(counter.accepted - before);
      }
      // The first check opens what it needs (over plain HTTP, one more for the HTTPS attempt it answered
      // as HTTP); every later one opens none, and what the first opened is still open between checks.
      expect(openedByCheck[0]).toBeGreaterThan(0);
      expect(openedByCheck.slice(1)).toEqual(new Array(CHECKS - 1).fill(0));
      expect(counter.open).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 60_000);
});
