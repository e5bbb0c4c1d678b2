/**
 * One controller process growing through three sizes of Images (full run: 1,000 → 5,000 → 10,000, at
 * spec.interval 10s): startup_ready_s at the first size, rss_mib_at_5000 and bytes_per_image from its
 * VmRSS at the first two, and at the third (1,000 checks/s) schedule_lag_p99_s from its
 * schedule-lag histogram, cpu_core_at_1000_per_s from /proc/<pid>/stat, and idle_api_writes_per_check
 * from the API server's own request counters while no digest moves.
 */
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { describeRuntime } from './runtime.js';
import {
  controllerMetrics,
  controllerPid,
  cpuSeconds,
  loadAverage,
  histogramBuckets,
  histogramQuantile,
  median,
  round,
  rssBytes,
  rssFileBytes,
  seedTags,
  sleep,
  sum,
  waitFor,
  type AdminApi,
  type BenchOptions,
  type Figure,
} from './support.js';

const NAMESPACE = 'bench-scale';
const REPOSITORY = 'bench/scale';
const INTERVAL_S = 10;
/** Images per tag at the largest size (see `how` of the lag figure). */
const IMAGES_PER_TAG_AT_LARGEST = 10;
const MiB = 1024 * 1024;

export async function measureScale(system: SupplyChainSystem, api: AdminApi, registryHost: string, layoutDir: string, { quick, progress, runtime }: BenchOptions): Promise<Figure[]> {
  const [small, medium, large] = quick ? [200, 1_000, 2_000] : [1_000, 5_000, 10_000];
  const windowS = quick ? 15 : 60;
  const tags = large / IMAGES_PER_TAG_AT_LARGEST;
  progress(`scale: ${tags} tags for ${large} Images`);
  await seedTags(registryHost, REPOSITORY, tags, (i) => `t${i}`, layoutDir);
  await api.ensureNamespace(NAMESPACE);
  // Image i watches tag i mod `tags`: the first `tags` Images each have a tag of their own.
  const image = (i: number) => ({ name: `img-${i}`, spec: { image: `${registryHost}/${REPOSITORY}:t${i % tags}`, interval: `${INTERVAL_S}s` } });

  progress(`scale: creating ${small} Images`);
  await api.createImages(NAMESPACE, 0, small, image);

  progress('scale: starting the controller');
  const started = performance.now();
  const controller = await system.startController({
    name: 'controller-scale',
    waitReady: false,
    args: ['--namespace', NAMESPACE, '--log-level', 'info'],
  });
  const readyS = await waitFor('controller /readyz', async () => ((await fetch(`${controller.url}/readyz`).catch(() => undefined))?.status === 200 ? (performance.now() - started) / 1000 : false), {
    timeoutMs: 30_000,
    intervalMs: 5,
    abortIf: () => controller.process.assertRunning(),
  });
  const pid = controllerPid(controller.url);
  const figures: Figure[] = [];
  try {
    figures.push({
      key: 'startup_ready_s',
      value: round(readyS),
      unit: 's',
      goal: '≤ 1',
      met: readyS <= 1,
      how: `spawn of node controller/dist/image-controller.js → first 200 from /readyz (polled every 5 ms), ${small} Images listed`,
      notes: readyS <= 1 ? undefined : `node compiles the 6 MB bundle (mostly @kubernetes/client-node) before it lists; 1-minute load was ${loadAverage()}`,
      details: { images: small },
    });

    const resolved = async (count: number) => {
      await waitFor(`${count} Images resolved`, async () => sum(await controllerMetrics(controller.url), 'image_controller_digest_changes_total') >= count, {
        timeoutMs: 300_000,
        intervalMs: 500,
        abortIf: () => controller.process.assertRunning(),
      });
    };
    /** Median VmRSS over one interval, after one interval of steady polling. */
    const steadyRss = async () => {
      await sleep(INTERVAL_S * 1000);
      const samples: number[] = [];
      for (let s = 0; s < INTERVAL_S; s++) {
        samples.push(rssBytes(pid));
        await sleep(1000);
      }
      return median(samples);
    };

    await resolved(small);
    progress(`scale: ${small} Images resolved; reading RSS`);
    const rssSmall = await steadyRss();
    progress(`scale: creating Images up to ${medium}`);
    await api.createImages(NAMESPACE, small, medium, image);
    await resolved(medium);
    progress(`scale: ${medium} Images resolved; reading RSS`);
    const rssMedium = await steadyRss();
    const perImage = (rssMedium - rssSmall) / (medium - small);
    const memory = await controllerMetrics(controller.url);
    const heapUsed = sum(memory, 'nodejs_heap_size_used_bytes');
    const heapTotal = sum(memory, 'nodejs_heap_size_total_bytes');
    const fileBacked = rssFileBytes(pid);
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
    figures.push(
      {
        key: 'rss_mib_at_5000',
        value: round(rssMedium / MiB, 1),
        unit: 'MiB',
        goal: '≤ 80',
        met: rssMedium / MiB <= 80,
        how: `VmRSS of the controller process, median of 1 s samples over one interval, ${medium} Images watched and polled every ${INTERVAL_S} s`,
        notes:
          rssMedium / MiB <= 80
            ? undefined
            : `of ${mib(rssMedium)}: ${mib(fileBacked)} file-backed (the node binary), V8 heap ${mib(heapTotal)} reserved / ${mib(heapUsed)} used ` +
              `incl. uncollected garbage, the rest native (malloc); ${describeRuntime(runtime)}`,
        details: { images: medium, rssMiBAtSmall: round(rssSmall / MiB, 1), small, rssFileMiB: round(fileBacked / MiB, 1), heapUsedMiB: round(heapUsed / MiB, 1), heapTotalMiB: round(heapTotal / MiB, 1) },
      },
      {
        key: 'bytes_per_image',
        value: Math.round(perImage),
        unit: 'B',
        goal: 'report',
        how: `(RSS at ${medium} − RSS at ${small}) / ${medium - small}, same process`,
      },
    );

    progress(`scale: creating Images up to ${large}`);
    await api.createImages(NAMESPACE, medium, large, image);
    await resolved(large);
    progress(`scale: ${large} Images resolved; settling one interval, then measuring ${windowS} s`);
    await sleep(INTERVAL_S * 1000);
    const before = { metrics: await controllerMetrics(controller.url), writes: await api.imageAndEventWrites(), cpu: cpuSeconds(pid), at: performance.now() };
    await sleep(windowS * 1000);
    const after = { metrics: await controllerMetrics(controller.url), writes: await api.imageAndEventWrites(), cpu: cpuSeconds(pid), at: performance.now() };
    const seconds = (after.at - before.at) / 1000;
    const checks = sum(after.metrics, 'image_controller_checks_total') - sum(before.metrics, 'image_controller_checks_total');
    const checksPerSecond = checks / seconds;
    const lag = histogramQuantile(0.99, histogramBuckets(before.metrics, 'image_controller_schedule_lag_seconds'), histogramBuckets(after.metrics, 'image_controller_schedule_lag_seconds'));
    const cores = (after.cpu - before.cpu) / seconds;
    const writes = after.writes.total - before.writes.total;
    const writesByKind = Object.fromEntries(
      Object.entries(after.writes.byKind)
        .map(([kind, n]) => [kind, n - (before.writes.byKind[kind] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    const registryRequests = sum(after.metrics, 'image_controller_registry_requests_total') - sum(before.metrics, 'image_controller_registry_requests_total');
    const shape = `${large} Images × ${INTERVAL_S} s on ${tags} tags (${IMAGES_PER_TAG_AT_LARGEST} per tag), ${windowS} s window`;
    figures.push(
      {
        key: 'schedule_lag_p99_s',
        value: lag === undefined ? null : round(lag, 4),
        unit: 's',
        goal: '≤ 1',
        met: lag !== undefined && lag <= 1,
        how: `p99 of image_controller_schedule_lag_seconds (check start − due time), ${shape}`,
        details: {
          checksPerSecond: round(checksPerSecond, 1),
          registryRequestsPerSecond: round(registryRequests / seconds, 1),
          rssMiB: round(rssBytes(pid) / MiB, 1),
          // What the old-space limit of the node options is sized against.
          heapUsedMiB: round(sum(after.metrics, 'nodejs_heap_size_used_bytes') / MiB, 1),
          heapTotalMiB: round(sum(after.metrics, 'nodejs_heap_size_total_bytes') / MiB, 1),
        },
      },
      {
        key: 'cpu_core_at_1000_per_s',
        value: round(cores),
        unit: 'cores',
        goal: 'report',
        how: `utime+stime of the controller from /proc/<pid>/stat over the window, ${shape}`,
        notes: `at ${Math.round(checksPerSecond)} checks/s measured`,
        details: { checksPerSecond: round(checksPerSecond, 1), cpuSecondsPerThousandChecks: round(((after.cpu - before.cpu) / checks) * 1000, 3) },
      },
      {
        key: 'idle_api_writes_per_check',
        value: checks > 0 ? round(writes / checks, 4) : null,
        unit: '',
        goal: '0',
        met: checks > 0 && writes === 0,
        how: `apiserver_request_total POST/PATCH/PUT on images, images/status, events ÷ checks_total delta, ${shape}, no digest moving`,
        details: { writes, checks, writesByKind },
      },
    );
    return figures;
  } finally {
    await system.stopController(controller);
  }
}
