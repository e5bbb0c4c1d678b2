// Registry faults, injected by a proxy in front of the real registry: each one shows on the Image as a
// specific Ready=False reason while the last digest is kept, and the Image recovers by itself within
// two intervals of the fault clearing. One shared system: the control plane costs ~10 s to start.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault, FaultProxy } from '../support/fault-proxy.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { sleep } from '../support/processes.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { SupplyChainSystem } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { createImage, dockerConfigSecret, pushTo, readyOf, waitForReady } from './helpers.js';
import { controllerPid, residentMemory } from './process-stats.js';

const INTERVAL_MS = 2_000;
/** "Within two intervals", plus the time kubectl takes to show it (polled every 200 ms). */
const RECOVERY_MS = 2 * INTERVAL_MS + 1_000;
/** A fault is held this long after the Image first shows it, so retries back off several times. */
const FAULT_HELD_MS = 4 * INTERVAL_MS;

const system = new SupplyChainSystem({
  cartographer: false,
  registryPort: 0,
  controllerArgs: ['--interval', '2s', '--request-timeout', '2s'],
});
let proxy: FaultProxy;

beforeAll(async () => {
  await system.start();
  proxy = await startFaultProxy(system.registry!.host);
}, 300_000);
afterAll(async () => {
  await proxy?.stop();
  await system.stop();
}, 60_000);

/** An Image on `faults/<name>` behind the proxy, resolved once; returns its reference and latestImage. */
async function healthyImage(name: string): Promise<{ ref: string; latestImage: string; pattern: RegExp }> {
  const repository = `faults/${name}`;
  const digest = await system.push(repository);
  const ref = `${proxy.host}/${repository}`;
  await createImage(system, name, { image: ref, interval: '2s' });
  await system.waitForLatestImage(name, `${ref}@${digest}`);
  return { ref, latestImage: `${ref}@${digest}`, pattern: new RegExp(`^/v2/${repository}/`) };
}

/** Clears the fault and waits for Ready=True; returns how long recovery took. */
async function clearAndRecover(name: string, deadlineMs = RECOVERY_MS): Promise<number> {
  proxy.setFault(undefined);
  const clearedAt = Date.now();
  await waitForReady(system, name, { status: 'True', reason: 'DigestResolved' }, { timeoutMs: deadlineMs });
  return Date.now() - clearedAt;
}

/** Injects `fault`, expects Ready=False `reason` with `words` in the message and the digest kept, then recovery. */
async function survives(name: string, fault: Fault, reason: string, words: RegExp): Promise<void> {
  const { latestImage, pattern } = await healthyImage(name);
  proxy.setFault(fault, pattern);
  const failed = await waitForReady(system, name, { status: 'False', reason });
  expect(readyOf(failed)?.message).toMatch(words);
  await sleep(FAULT_HELD_MS);
  const during = await system.image(name);
  expect(readyOf(during)).toMatchObject({ status: 'False', reason });
  expect(during?.status?.latestImage).toBe(latestImage);
  await clearAndRecover(name);
  expect((await system.image(name))?.status?.latestImage).toBe(latestImage);
}

describe('registry faults', () => {
  it('fault: registry 500 → RegistryUnavailable, digest kept, recovers', async () => {
    await survives('http-500', { kind: 'status', status: 500 }, 'RegistryUnavailable', /server error, HTTP 500/);
  });

  it('fault: registry 503 → RegistryUnavailable, digest kept, recovers', async () => {
    await survives('http-503', { kind: 'status', status: 503 }, 'RegistryUnavailable', /server error, HTTP 503/);
  });

  it('fault: connection reset → RegistryUnavailable, digest kept, recovers', async () => {
    await survives('reset', { kind: 'reset' }, 'RegistryUnavailable', /closed the connection/);
  });

  it('fault: 429 with Retry-After is honoured (no request before it elapses), then recovers', async () => {
    const RETRY_AFTER_S = 6;
    const { latestImage, pattern } = await healthyImage('rate-limited');
    proxy.setFault({ kind: 'status', status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } }, pattern);
    const limited = await waitFor('a 429 answered', () => proxy.requests.find((r) => pattern.test(r.path) && r.fault === 'status'));
    // Clear at once: only the Retry-After may keep the controller away now.
    proxy.setFault(undefined);
    const failed = await waitForReady(system, 'rate-limited', { status: 'False', reason: 'RateLimited' });
    expect(readyOf(failed)?.message).toMatch(new RegExp(`retry in ${RETRY_AFTER_S}s`));
    expect(failed.status?.latestImage).toBe(latestImage);
    await waitForReady(system, 'rate-limited', { status: 'True', reason: 'DigestResolved' }, {
      timeoutMs: RETRY_AFTER_S * 1000 + RECOVERY_MS,
    });
    const after = proxy.requests.filter((r) => pattern.test(r.path) && r.at > limited.at);
    expect(after.length).toBeGreaterThan(0);
    expect(Math.min(...after.map((r) => r.at)) - limited.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
  });

  it('fault: a registry that accepts and hangs times out (2s) while another registry keeps updating', async () => {
    const second: Registry = await startRegistry();
    try {
      const { latestImage, pattern } = await healthyImage('hang');
      const otherRef = `${second.host}/faults/elsewhere`;
      let otherDigest = await pushTo(second.host, 'faults/elsewhere');
      await createImage(system, 'elsewhere', { image: otherRef, interval: '2s' });
      await system.waitForLatestImage('elsewhere', `${otherRef}@${otherDigest}`);

      proxy.setFault({ kind: 'hang' }, pattern);
      const failed = await waitForReady(system, 'hang', { status: 'False', reason: 'RegistryUnavailable' });
      expect(readyOf(failed)?.message).toMatch(/did not answer within 2s/);
      // While checks of the hanging registry time out, the other registry's Image still follows its tag.
      for (let i = 0; i < 2; i++) {
        otherDigest = await pushTo(second.host, 'faults/elsewhere');
        await system.waitForLatestImage('elsewhere', `${otherRef}@${otherDigest}`, { timeoutMs: RECOVERY_MS });
      }
      expect(readyOf(await system.image('hang'))).toMatchObject({ status: 'False', reason: 'RegistryUnavailable' });
      expect((await system.image('hang'))?.status?.latestImage).toBe(latestImage);
      expect(proxy.requests.filter((r) => r.fault === 'hang').length).toBeGreaterThan(1);
      await clearAndRecover('hang');
    } finally {
      await second.stop();
    }
  });

  it('fault: a manifest without Docker-Content-Digest resolves by GET + sha256 to skopeo\'s digest', async () => {
    const { ref, pattern } = await healthyImage('no-digest');
    proxy.setFault({ kind: 'strip-digest' }, pattern);
    const since = proxy.requests.length;
    const pushed = await system.push('faults/no-digest'); // skopeo inspect --raw: sha256 of the bytes served
    const image = await system.waitForLatestImage('no-digest', `${ref}@${pushed}`, { timeoutMs: RECOVERY_MS + 2_000 });
    expect(image.status?.digest).toBe(pushed);
    expect(readyOf(image)).toMatchObject({ status: 'True', reason: 'DigestResolved' });
    const stripped = proxy.requests.slice(since).filter((r) => pattern.test(r.path) && r.fault === 'strip-digest');
    expect(stripped.some((r) => r.method === 'HEAD')).toBe(true);
    expect(stripped.some((r) => r.method === 'GET' && /\/manifests\/latest$/.test(r.path))).toBe(true);
    await clearAndRecover('no-digest');
  });

  it('fault: a 10 MB manifest body is refused as InvalidManifest without reading it into memory', async () => {
    const BODY_BYTES = 10 * 1024 * 1024;
    const { latestImage, pattern } = await healthyImage('huge');
    const pid = await controllerPid(system.controller!);
    const before = residentMemory(pid);
    proxy.setFault({ kind: 'huge-body', bytes: BODY_BYTES }, pattern);
    const failed = await waitForReady(system, 'huge', { status: 'False', reason: 'InvalidManifest' });
    expect(readyOf(failed)?.message).toMatch(/larger than 4194304 bytes/);
    await sleep(FAULT_HELD_MS);
    expect(proxy.requests.filter((r) => r.fault === 'huge-body' && r.method === 'GET').length).toBeGreaterThanOrEqual(3);
    const after = residentMemory(pid);
    // Several 10 MB answers came and went: the peak grew by less than one body.
    expect(after.peak - before.peak).toBeLessThan(BODY_BYTES);
    expect((await system.image('huge'))?.status?.latestImage).toBe(latestImage);
    await clearAndRecover('huge');
  });

  it('fault: a redirect to another host is followed without the credentials (policy), and undone when it clears', async () => {
    const password = randomBytes(12).toString('hex');
    const authRegistry = await startRegistry({ htpasswd: { username: 'redirect-user', password } });
    const origin = await startFaultProxy(authRegistry.host);
    const elsewhere = await startFaultProxy(system.registry!.host);
    try {
      const repository = 'faults/redirect';
      const originDigest = await pushTo(authRegistry.host, repository, { creds: authRegistry.creds });
      const elsewhereDigest = await system.push(repository);
      const ref = `${origin.host}/${repository}`;
      await system.apply(dockerConfigSecret('redirect-creds', origin.host, 'redirect-user', password));
      // insecure: plain HTTP without it is for the loopback registry the Image names, not where it redirects.
      await createImage(system, 'redirect', { image: ref, interval: '2s', insecure: true, pullSecrets: [{ name: 'redirect-creds' }] });
      await system.waitForLatestImage('redirect', `${ref}@${originDigest}`);
      expect(origin.requests.some((r) => r.authorized)).toBe(true);

      const manifest = `/v2/${repository}/manifests/latest`;
      origin.setFault({ kind: 'redirect', location: `http://${elsewhere.host}${manifest}` }, /\/manifests\//);
      // The client follows redirects (registries serve manifests from CDNs), but the Authorization header
      // stays with the registry it was meant for.
      await system.waitForLatestImage('redirect', `${ref}@${elsewhereDigest}`, { timeoutMs: RECOVERY_MS });
      expect(origin.requests.filter((r) => r.fault === 'redirect').every((r) => r.authorized)).toBe(true);
      expect(elsewhere.requests.length).toBeGreaterThan(0);
      expect(elsewhere.requests.filter((r) => r.authorized)).toEqual([]);

      origin.setFault(undefined);
      await system.waitForLatestImage('redirect', `${ref}@${originDigest}`, { timeoutMs: RECOVERY_MS });
    } finally {
      await origin.stop();
      await elsewhere.stop();
      await authRegistry.stop();
    }
  });
});
