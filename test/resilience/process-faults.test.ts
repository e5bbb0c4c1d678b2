// Faults of the processes around the registry: the API server restarting, the controller killed with
// SIGKILL in the middle of its work, and the leader of two replicas killed. In each, no digest is lost
// and only one replica ever writes. One shared system; the test starts and stops the controllers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sleep } from '../support/processes.js';
import { SupplyChainSystem, type RunningController } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { createImage } from './helpers.js';

const INTERVAL_MS = 2_000;
const RECOVERY_MS = 2 * INTERVAL_MS + 1_000;
const LEASE_DURATION_MS = 15_000;
const ARGS = ['--interval', '2s', '--request-timeout', '2s'];

const system = new SupplyChainSystem({ cartographer: false, registryPort: 0, startController: false, controllerArgs: ARGS });
let proxy: FaultProxy;

beforeAll(async () => {
  await system.start();
  proxy = await startFaultProxy(system.registry!.host);
}, 300_000);
afterAll(async () => {
  await proxy?.stop();
  await system.stop();
}, 60_000);

/** `system.registry/<repository>`, the reference an Image watches. */
function refOf(repository: string): string {
  return `${system.registry!.host}/${repository}`;
}

describe('process faults', () => {
  it('fault: kube-apiserver restart — pushes during and after the restart still land', async () => {
    const controller = await system.startController({ name: 'controller-apiserver-restart' });
    try {
      const ref = refOf('process/apiserver');
      let digest = await system.push('process/apiserver');
      await createImage(system, 'apiserver', { image: ref, interval: '2s' });
      await system.waitForLatestImage('apiserver', `${ref}@${digest}`);

      const restarting = system.controlPlane.restartApiServer();
      await sleep(500);
      digest = await system.push('process/apiserver'); // while the API server is down or starting
      await restarting;
      await system.waitForLatestImage('apiserver', `${ref}@${digest}`, { timeoutMs: RECOVERY_MS });

      digest = await system.push('process/apiserver');
      await system.waitForLatestImage('apiserver', `${ref}@${digest}`, { timeoutMs: RECOVERY_MS });
      controller.process.assertRunning();
    } finally {
      await system.stopController(controller);
    }
  });

  it('fault: controller SIGKILL in the middle of a check; pushes while it is dead land after the restart', async () => {
    const repositories = ['process/kill-a', 'process/kill-b', 'process/kill-c'];
    const hanging = 'process/kill-hanging';
    const controller = await system.startController({ name: 'controller-to-kill' });
    const hangingRef = `${proxy.host}/${hanging}`;
    let hangingDigest = await system.push(hanging);
    await createImage(system, 'kill-hanging', { image: hangingRef, interval: '2s' });
    await system.waitForLatestImage('kill-hanging', `${hangingRef}@${hangingDigest}`);
    for (const [i, repository] of repositories.entries()) {
      const digest = await system.push(repository);
      await createImage(system, `kill-${i}`, { image: refOf(repository), interval: '2s' });
      await system.waitForLatestImage(`kill-${i}`, `${refOf(repository)}@${digest}`);
    }

    // A check that never gets its answer is in flight when the controller dies.
    proxy.setFault({ kind: 'hang' }, new RegExp(`^/v2/${hanging}/`));
    const hungAt = await waitFor('a hanging check in flight', () => proxy.requests.find((r) => r.fault === 'hang')?.at);
    await system.stopController(controller, { signal: 'SIGKILL' });
    expect(Date.now() - hungAt).toBeLessThan(2_000); // killed before the 2 s request timeout ended that check

    const expected = new Map<string, string>();
    for (const [i, repository] of repositories.entries()) expected.set(`kill-${i}`, `${refOf(repository)}@${await system.push(repository)}`);
    hangingDigest = await system.push(hanging);
    expected.set('kill-hanging', `${hangingRef}@${hangingDigest}`);
    proxy.setFault(undefined);

    const restarted = await system.startController({ name: 'controller-restarted' });
    try {
      for (const [name, latestImage] of expected) await system.waitForLatestImage(name, latestImage, { timeoutMs: RECOVERY_MS });
    } finally {
      await system.stopController(restarted);
    }
  });

  it('fault: leader SIGKILL — the standby takes over within the lease duration + one interval, never two writers', async () => {
    const leaseArgs = [...ARGS, '--leader-elect'];
    const ref = refOf('process/leader');
    const digests = [await system.push('process/leader')];
    await createImage(system, 'leader', { image: ref, interval: '2s' });

    const first = await system.startController({ name: 'replica-1', args: leaseArgs });
    const firstId = identityOf(first);
    await waitFor('replica-1 holds the Lease', async () => (await leaseHolder()) === firstId, { timeoutMs: 30_000 });
    const second = await system.startController({ name: 'replica-2', args: leaseArgs });
    const secondId = identityOf(second);
    const history = watchLeaseHolders();
    let third: RunningController | undefined;
    try {
      await system.waitForLatestImage('leader', `${ref}@${digests[0]}`);
      digests.push(await system.push('process/leader'));
      await system.waitForLatestImage('leader', `${ref}@${digests.at(-1)}`, { timeoutMs: RECOVERY_MS });
      expect(await checksBy(second)).toBe(0);
      expect(await leaderGauge(second)).toBe(0);

      await system.stopController(first, { signal: 'SIGKILL' });
      const killedAt = Date.now();
      digests.push(await system.push('process/leader'));
      await waitFor('replica-2 holds the Lease', async () => (await leaseHolder()) === secondId, {
        timeoutMs: LEASE_DURATION_MS + INTERVAL_MS + 10_000,
        intervalMs: 100,
      });
      const takeoverMs = Date.now() - killedAt;
      await system.waitForLatestImage('leader', `${ref}@${digests.at(-1)}`, { timeoutMs: RECOVERY_MS });
      const landedMs = Date.now() - killedAt;
      console.log(`leader failover: Lease taken ${takeoverMs} ms and the pushed digest written ${landedMs} ms after the SIGKILL`);
      expect(landedMs).toBeLessThanOrEqual(LEASE_DURATION_MS + INTERVAL_MS + 1_000);

      // The killed replica comes back as a standby: the new leader keeps writing, alone.
      third = await system.startController({ name: 'replica-3', args: leaseArgs });
      const thirdId = identityOf(third);
      digests.push(await system.push('process/leader'));
      await system.waitForLatestImage('leader', `${ref}@${digests.at(-1)}`, { timeoutMs: RECOVERY_MS });
      await sleep(2 * INTERVAL_MS);
      expect(await checksBy(third)).toBe(0);
      expect(await leaderGauge(third)).toBe(0);
      expect(await leaseHolder()).toBe(secondId);

      // From the API server: each digest change was written once, by the replica holding the Lease.
      const events = await digestEvents('leader');
      expect(events.reduce((sum, e) => sum + e.count, 0)).toBe(digests.length);
      const byInstance = (id: string) => events.filter((e) => e.instance === id).reduce((sum, e) => sum + e.count, 0);
      expect(byInstance(firstId)).toBe(2);
      expect(byInstance(secondId)).toBe(2);
      expect(byInstance(thirdId)).toBe(0);
      expect(history.stop()).toEqual([firstId, secondId]);
    } finally {
      history.stop();
      await system.stopController(third);
      await system.stopController(second);
      await system.stopController(first);
    }
  });
});

/** The identity a controller logged at start: its Lease holderIdentity and its Events' reportingInstance. */
function identityOf(controller: RunningController): string {
  const starting = controller.process
    .log()
    .split('\n')
    .map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg?: string; identity?: string }) : {}))
    .find((entry) => entry.msg === 'starting');
  if (!starting?.identity) throw new Error(`${controller.process.spec.name} logged no identity`);
  return starting.identity;
}

async function leaseHolder(): Promise<string> {
  return system.kubectl(['get', 'lease', 'image-controller', '-n', system.identity.namespace, '-o', 'jsonpath={.spec.holderIdentity}']);
}

/** Polls the Lease's holder every 250 ms; stop() returns the distinct holders in order. */
function watchLeaseHolders(): { stop(): string[] } {
  const holders: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const holder = await leaseHolder().catch(() => undefined);
      if (holder && holders.at(-1) !== holder) holders.push(holder);
      await sleep(250);
    }
  })();
  return {
    stop() {
      running = false;
      void loop;
      return [...holders];
    },
  };
}

async function metricValue(controller: RunningController, name: string): Promise<number> {
  const text = await system.metrics(controller);
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && !line.startsWith('#'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const checksBy = (controller: RunningController) => metricValue(controller, 'image_controller_checks_total');
const leaderGauge = (controller: RunningController) => metricValue(controller, 'image_controller_leader');

/** DigestResolved Events of Image `name`, with who reported them and how often. */
async function digestEvents(name: string): Promise<{ instance: string; count: number }[]> {
  const list = JSON.parse(
    await system.kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name},reason=DigestResolved`, '-o', 'json']),
  ) as { items: { reportingInstance?: string; count?: number }[] };
  return list.items.map((event) => ({ instance: event.reportingInstance ?? '', count: event.count ?? 1 }));
}
