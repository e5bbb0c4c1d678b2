/**
 * dedup_requests_per_interval: 1,000 Images on one repo:tag, polled every 10 s; the registry requests
 * for that tag, counted by a pass-through proxy in front of the real registry, per interval.
 */
import { startFaultProxy } from '../test/support/fault-proxy.js';
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { controllerMetrics, round, seedTags, sleep, sum, waitFor, type AdminApi, type BenchOptions, type Figure } from './support.js';

const NAMESPACE = 'bench-dedup';
const REPOSITORY = 'bench/dedup';
const INTERVAL_S = 10;

export async function measureDedup(system: SupplyChainSystem, api: AdminApi, registryHost: string, layoutDir: string, { quick, progress }: BenchOptions): Promise<Figure> {
  const images = quick ? 200 : 1_000;
  const intervals = quick ? 2 : 6;
  await seedTags(registryHost, REPOSITORY, 1, () => 'shared', layoutDir);
  const proxy = await startFaultProxy(registryHost);
  try {
    await api.ensureNamespace(NAMESPACE);
    progress(`dedup: creating ${images} Images on ${REPOSITORY}:shared`);
    await api.createImages(NAMESPACE, 0, images, (i) => ({ name: `img-${i}`, spec: { image: `${proxy.host}/${REPOSITORY}:shared`, interval: `${INTERVAL_S}s` } }));
    const controller = await system.startController({ name: 'controller-dedup', args: ['--namespace', NAMESPACE, '--log-level', 'info'] });
    try {
      await waitFor(`${images} Images resolved`, async () => sum(await controllerMetrics(controller.url), 'image_controller_digest_changes_total') >= images, {
        timeoutMs: 120_000,
        intervalMs: 500,
        abortIf: () => controller.process.assertRunning(),
      });
      progress(`dedup: resolved; settling one interval, then counting for ${intervals} intervals`);
      await sleep(INTERVAL_S * 1000);
      const manifestRequests = () => proxy.requests.filter((r) => r.path.startsWith(`/v2/${REPOSITORY}/manifests/`)).length;
      const before = { requests: manifestRequests(), all: proxy.requests.length, checks: sum(await controllerMetrics(controller.url), 'image_controller_checks_total'), at: performance.now() };
      await sleep(intervals * INTERVAL_S * 1000);
      const after = { requests: manifestRequests(), all: proxy.requests.length, checks: sum(await controllerMetrics(controller.url), 'image_controller_checks_total'), at: performance.now() };
      const elapsedIntervals = (after.at - before.at) / 1000 / INTERVAL_S;
      const perInterval = (after.requests - before.requests) / elapsedIntervals;
      const checks = after.checks - before.checks;
      return {
        key: 'dedup_requests_per_interval',
        value: round(perInterval, 2),
        unit: 'req',
        goal: '1',
        met: perInterval <= 1.0001,
        how: `${images} Images on one repo:tag, interval ${INTERVAL_S} s; manifest requests in the pass-through proxy's log over ${intervals} intervals`,
        notes:
          perInterval <= 1.0001
            ? undefined
            : 'a shared answer is reused only while younger than 80% of the interval (so a lone Image never reuses its own), and jitter spreads checks over ±10%: the tag is asked again every ~8 s',
        details: { requests: after.requests - before.requests, allRequests: after.all - before.all, checks, checksPerInterval: round(checks / elapsedIntervals, 1), intervals: round(elapsedIntervals, 2) },
      };
    } finally {
      await system.stopController(controller);
    }
  } finally {
    await proxy.stop();
  }
}
