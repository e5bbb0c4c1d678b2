/**
 * latency_poll_p99_s and latency_notify_p99_s: from a push (skopeo copy has returned, so the tag has
 * moved) to the Image's status.latestImage changing, as seen by listing the Images every 100 ms. Poll
 * Images watch a registry that sends no notifications; notify Images watch the system's registry,
 * which POSTs to the controller's /notifications. Pushes alternate between the two, one at a time,
 * so they land at random points of each Image's 10 s polling cycle.
 */
import { join } from 'node:path';
import { pushImage, writeImageLayout } from '../test/support/oci.js';
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { percentile, round, seedTags, sleep, waitFor, type AdminApi, type BenchOptions, type Figure } from './support.js';

const NAMESPACE = 'bench-latency';
const INTERVAL_S = 10;
const WATCH_EVERY_MS = 100;

interface Pending {
  kind: 'poll' | 'notify';
  name: string;
  was: string | undefined;
  pushedAt: number;
  seenAt?: number;
}

export async function measureLatency(system: SupplyChainSystem, api: AdminApi, pollRegistryHost: string, layoutDir: string, { quick, progress }: BenchOptions): Promise<Figure[]> {
  const notifyRegistryHost = system.registry!.host;
  const pushes = quick ? 5 : 20;
  const targets = {
    poll: { host: pollRegistryHost, repository: 'bench/poll' },
    notify: { host: notifyRegistryHost, repository: 'bench/notify' },
  };
  for (const [kind, { host, repository }] of Object.entries(targets)) {
    await seedTags(host, repository, pushes, (i) => `${kind}-${i}`, join(layoutDir, `seed-${kind}`));
  }
  await api.ensureNamespace(NAMESPACE);
  for (const [kind, { host, repository }] of Object.entries(targets)) {
    await api.createImages(NAMESPACE, 0, pushes, (i) => ({ name: `${kind}-${i}`, spec: { image: `${host}/${repository}:${kind}-${i}`, interval: `${INTERVAL_S}s` } }));
  }
  if (system.controller) throw new Error('the latency controller must be the system’s first controller, the one its registry notifies');
  const controller = await system.startController({ name: 'controller-latency', args: ['--namespace', NAMESPACE, '--log-level', 'info'] });
  try {
    const latestImages = async () => new Map((await api.listImages(NAMESPACE)).map((image) => [image.metadata.name, image.status?.latestImage]));
    await waitFor(`${2 * pushes} Images resolved`, async () => [...(await latestImages()).values()].every((latest) => latest !== undefined) && (await latestImages()).size === 2 * pushes, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    const pending: Pending[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const now = performance.now();
        const current = await latestImages();
        for (const push of pending) if (push.seenAt === undefined && current.get(push.name) !== push.was) push.seenAt = now;
        await sleep(WATCH_EVERY_MS);
      }
    })();
    try {
      progress(`latency: ${pushes} pushes each for polling and notifications`);
      for (let i = 0; i < pushes; i++) {
        for (const kind of ['poll', 'notify'] as const) {
          const { host, repository } = targets[kind];
          const name = `${kind}-${i}`;
          const was = (await latestImages()).get(name);
          const layout = await writeImageLayout(join(layoutDir, `${name}-${Date.now()}`), { tag: name });
          await pushImage(layout, `${host}/${repository}:${name}`);
          pending.push({ kind, name, was, pushedAt: performance.now() });
        }
      }
      await waitFor('every push seen in status', () => pending.every((p) => p.seenAt !== undefined), { timeoutMs: 3 * INTERVAL_S * 1000, intervalMs: 200 }).catch(() => undefined);
    } finally {
      watching = false;
      await watcher;
    }

    const figure = (kind: Pending['kind'], goal: number): Figure => {
      const pushesOfKind = pending.filter((p) => p.kind === kind);
      const latencies = pushesOfKind.filter((p) => p.seenAt !== undefined).map((p) => (p.seenAt! - p.pushedAt) / 1000);
      const missed = pushesOfKind.length - latencies.length;
      const p99 = latencies.length > 0 ? percentile(latencies, 99) : undefined;
      return {
        key: `latency_${kind}_p99_s`,
        value: p99 === undefined || missed > 0 ? null : round(p99, 2),
        unit: 's',
        goal: `≤ ${goal}`,
        met: p99 !== undefined && missed === 0 && p99 <= goal,
        how:
          kind === 'poll'
            ? `${pushes} pushes to distinct tags, interval ${INTERVAL_S} s, no notifications; push done → status.latestImage changed (seen by a ${WATCH_EVERY_MS} ms list)`
            : `${pushes} pushes; registry POSTs to /notifications, interval ${INTERVAL_S} s as fallback; push done → status changed (${WATCH_EVERY_MS} ms list)`,
        notes:
          missed > 0
            ? `${missed} of ${pushesOfKind.length} pushes never showed in status within ${3 * INTERVAL_S} s`
            : kind === 'notify' && p99 !== undefined && p99 > goal
              ? `p50 ${round(percentile(latencies, 50), 2)} s, a few slow pushes: the registry sends every event (also a pull event for each controller HEAD) through one queue, one POST at a time; not profiled further`
              : undefined,
        details: { samples: latencies.length, p50: latencies.length ? round(percentile(latencies, 50), 2) : null, max: latencies.length ? round(Math.max(...latencies), 2) : null },
      };
    };
    return [figure('poll', 11), figure('notify', 1)];
  } finally {
    await system.stopController(controller);
  }
}
