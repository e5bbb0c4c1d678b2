/**
 * The peer comparison: this controller and Flux's image-reflector-controller (defaults, then with
 * FluxStorage), one after the other on the same control plane and registry, at the same two sizes
 * (full run: 1,000 and 5,000 objects; --quick: 100 and 500), on the same distinct tags, at the same
 * 10 s interval. For each: RSS, CPU of the controller, kube-apiserver and docker-registry, API writes
 * and registry requests (by kind) per object-interval while no digest moves, new registry connections
 * per 1,000 checks, push → status latency, and start → every object resolved.
 *
 * Every controller reaches the registry through a TCP pass-through that counts the connections it
 * accepts (bench/connection-counter.ts); registry requests are read from the registry's own access log
 * (bench/registry-log.ts).
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pushImage, writeImageLayout } from '../test/support/oci.js';
import type { Registry } from '../test/support/registry.js';
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { startConnectionCounter } from './connection-counter.js';
import { flux, FLUX_VERSION, ours, type Contender, type Watched } from './contenders.js';
import { registryRequests } from './registry-log.js';
import { cpuSeconds, median, percentile, pidOf, round, rssBytes, rssFileBytes, seedTags, sleep, type AdminApi, type BenchOptions, type Figure } from './support.js';

const REPOSITORY = 'bench/peer';
const NOTIFY_REPOSITORY = 'bench/peer-notify';
export const INTERVAL_S = 10;
const MiB = 1024 * 1024;
/** The JSON keys name the sizes of the full run, whatever --quick makes them (the table says which). */
const SIZE_LABELS = ['1000', '5000'] as const;

/** What one controller showed at one size. Lower is better for every figure. */
export interface PeerFigures {
  rss_mib: number;
  controller_cpu_cores: number;
  apiserver_cpu_cores: number;
  registry_cpu_cores: number;
  /** docker-registry CPU per object refreshed (a check of ours, a scan of Flux's), so a controller that falls behind its interval is not cheaper for it. */
  registry_cpu_ms_per_refresh: number | null;
  idle_api_writes_per_object_interval: number;
  registry_requests_per_object_interval: number;
  registry_connections_per_1000_checks: number | null;
  latency_poll_p50_s: number | null;
  latency_poll_p99_s: number | null;
  resolved_s: number | null;
}

export interface Result {
  contender: string;
  size: number;
  figures: PeerFigures;
  /** Not compared, but shown. */
  extra: {
    checksPerObjectInterval: number;
    registryRequestsByKind: Record<string, number>;
    writesByKind: Record<string, number>;
    leaseWritesPerSecond: number;
    openConnectionsAtEnd: number;
    /** Of the RSS, pages mapped from files (the node or Go binary's text, Badger's memory-mapped files). */
    rssFileMiB: number;
    heapInUseMiB: number;
    latencyNotifyP50S?: number | null;
    latencyNotifyP99S?: number | null;
    latencyMissed: number;
    resolvedAtTimeout?: string;
  };
}

export const ROWS: { key: keyof PeerFigures; title: string; digits: number }[] = [
  { key: 'rss_mib', title: 'RSS (MiB)', digits: 1 },
  { key: 'controller_cpu_cores', title: 'controller CPU (cores)', digits: 3 },
  { key: 'apiserver_cpu_cores', title: 'kube-apiserver CPU (cores)', digits: 3 },
  { key: 'registry_cpu_cores', title: 'docker-registry CPU (cores)', digits: 3 },
  { key: 'registry_cpu_ms_per_refresh', title: '  per object refreshed (ms)', digits: 2 },
  { key: 'idle_api_writes_per_object_interval', title: 'API writes per object-interval, idle', digits: 3 },
  { key: 'registry_requests_per_object_interval', title: 'registry requests per object-interval', digits: 2 },
  { key: 'registry_connections_per_1000_checks', title: 'new registry connections per 1,000 checks', digits: 1 },
  { key: 'latency_poll_p50_s', title: 'push → status, polled, p50 (s)', digits: 2 },
  { key: 'latency_poll_p99_s', title: 'push → status, polled, p99 (s)', digits: 2 },
  { key: 'resolved_s', title: 'start → every object resolved (s)', digits: 0 },
];

/** The short names of the figures in the JSON keys, e.g. `peer_rss_ratio_at_5000`. */
export const RATIO_NAMES: Record<keyof PeerFigures, string> = {
  rss_mib: 'rss',
  controller_cpu_cores: 'controller_cpu',
  apiserver_cpu_cores: 'apiserver_cpu',
  registry_cpu_cores: 'registry_cpu',
  registry_cpu_ms_per_refresh: 'registry_cpu_per_refresh',
  idle_api_writes_per_object_interval: 'idle_api_writes',
  registry_requests_per_object_interval: 'registry_requests',
  registry_connections_per_1000_checks: 'registry_connections',
  latency_poll_p50_s: 'latency_poll_p50',
  latency_poll_p99_s: 'latency_poll_p99',
  resolved_s: 'resolved',
};

/** Every ratio key the JSON line has: ours ÷ Flux defaults, and ours ÷ Flux with FluxStorage. */
export const PEER_RATIO_KEYS = SIZE_LABELS.flatMap((size) =>
  Object.values(RATIO_NAMES).flatMap((name) => [`peer_${name}_ratio_at_${size}`, `peer_${name}_ratio_fluxstorage_at_${size}`]),
);

/** The keys with a goal, shown in the main table. */
export const PEER_GOAL_KEYS = [
  'peer_rss_ratio_at_5000',
  'peer_apiserver_cpu_ratio_at_5000',
  'peer_registry_cpu_ratio_at_5000',
  'peer_idle_api_writes_at_5000',
  'registry_connections_per_1000_checks',
  'peer_rss_ratio_fluxstorage_at_1000',
  'peer_rss_ratio_fluxstorage_at_5000',
];

export const NOT_LIKE_FOR_LIKE = [
  'Flux lists every tag of the repository on each scan (here a repository of N tags, once per object per interval) where ours asks for one tag;',
  'Flux keeps every tag in a database (Badger by default, files with FluxStorage) and evaluates a policy per ImagePolicy; ours keeps one digest per Image;',
  'Flux reflects a digest through two objects per tag (ImageRepository + ImagePolicy, each with its own status); ours writes one Image status;',
  'a Flux "check" is one ImageRepository scan (controller_runtime_reconcile_total); its ImagePolicy HEADs come on top;',
  'Flux runs as the cluster admin (its ClusterRole is not installed), ours under its dist/ ServiceAccount; both watch one namespace and neither holds a Lease (ours: --leader-elect is off by default; Flux: outside a Pod it finds no namespace for one).',
];

export interface PeerReport {
  figures: Figure[];
  ratios: Record<string, number | null>;
  table: string;
  details: Record<string, unknown>;
}

export async function measurePeer(system: SupplyChainSystem, api: AdminApi, registry: Registry, layoutDir: string, { quick, progress }: BenchOptions): Promise<PeerReport> {
  const sizes = quick ? [100, 500] : [1_000, 5_000];
  const windowS = quick ? 20 : 60;
  const pushes = quick ? 3 : 10;
  const counter = await startConnectionCounter(registry.host);
  try {
    // A repository per size, so a Flux scan lists as many tags as there are objects.
    for (const size of sizes) {
      progress(`peer: ${size} tags in ${REPOSITORY}-${size}`);
      await seedTags(registry.host, `${REPOSITORY}-${size}`, size, (i) => `t${i}`, join(layoutDir, `seed-${size}`));
    }
    const notifyRegistry = system.registry!;
    await seedTags(notifyRegistry.host, NOTIFY_REPOSITORY, pushes, (i) => `n${i}`, join(layoutDir, 'seed-notify'));
    const contenders = [
      ours(system, api, INTERVAL_S),
      flux(system, api, INTERVAL_S, layoutDir, { fluxStorage: false }),
      flux(system, api, INTERVAL_S, layoutDir, { fluxStorage: true }),
    ];
    const pids = clusterPids(system, registry);

    // What the cluster costs with no controller running, for reading the CPU figures.
    progress(`peer: ${windowS} s with no controller running`);
    const idleFrom = { at: performance.now(), apiserver: cpuSeconds(pids.apiserver), registry: cpuSeconds(pids.registry) };
    await sleep(windowS * 1000);
    const idleSeconds = (performance.now() - idleFrom.at) / 1000;
    const idle = {
      apiserverCores: round((cpuSeconds(pids.apiserver) - idleFrom.apiserver) / idleSeconds, 3),
      registryCores: round((cpuSeconds(pids.registry) - idleFrom.registry) / idleSeconds, 3),
    };

    const results: Result[] = [];
    for (const size of sizes) {
      for (const contender of contenders) {
        progress(`peer: ${contender.label} at ${size}`);
        const watched: Watched[] = Array.from({ length: size }, (_, i) => ({ name: `t${i}`, image: `${counter.host}/${REPOSITORY}-${size}:t${i}` }));
        const notified: Watched[] =
          contender.label === 'ours' ? Array.from({ length: pushes }, (_, i) => ({ name: `notify-${i}`, image: `${notifyRegistry.host}/${NOTIFY_REPOSITORY}:n${i}` })) : [];
        const result = await measureOne(contender, { scenario: 'peer', size, watched, notified, windowS, pushes, quick }, { api, registry, notifyRegistry, counter, pids, layoutDir, progress });
        // Each result as soon as it is measured, so an interrupted run still leaves its figures behind.
        progress(`peer: ${contender.label} at ${size}: ${JSON.stringify(result)}`);
        results.push(result);
      }
    }
    return report(results, sizes, { windowS, pushes, quick, idle });
  } finally {
    await counter.stop();
  }
}

/** The kube-apiserver's and the bench registry's processes, whose CPU every comparison reads. */
export function clusterPids(system: SupplyChainSystem, registry: Registry): Context['pids'] {
  const { binaries } = system.controlPlane.assets!;
  const apiServerPort = new URL(system.controlPlane.apiServerUrl).port;
  return {
    apiserver: pidOf('kube-apiserver', (cmdline) => cmdline[0] === binaries['kube-apiserver'] && cmdline.includes(`--secure-port=${apiServerPort}`)),
    registry: pidOf('bench registry', (cmdline) => cmdline.includes(join(dirname(registry.logFile), 'config.yml'))),
  };
}

export interface Shape {
  /** Names the namespaces: `<scenario>-<contender>-<size>`. */
  scenario: string;
  size: number;
  watched: Watched[];
  /** Objects on the notifying registry (ours only), for the notified latency. */
  notified: Watched[];
  windowS: number;
  pushes: number;
  quick: boolean;
}

export interface Context {
  api: AdminApi;
  registry: Registry;
  notifyRegistry: Registry;
  counter: { accepted: number; open: number };
  pids: { apiserver: number; registry: number };
  layoutDir: string;
  progress: (message: string) => void;
}

export async function measureOne(contender: Contender, shape: Shape, context: Context): Promise<Result> {
  const { api, counter, pids, progress } = context;
  const { size, watched, notified, windowS } = shape;
  const namespace = `${shape.scenario}-${contender.label}-${size}`;
  await api.ensureNamespace(namespace);
  await contender.create(namespace, [...watched, ...notified]);

  const started = performance.now();
  const running = await contender.start(namespace);
  try {
    const resolved = await waitResolved(contender, namespace, watched.length + notified.length, shape.quick ? 180 : 900, running.pid);
    const resolvedS = resolved.all ? (performance.now() - started) / 1000 : null;
    progress(`peer: ${contender.label} at ${size}: ${resolved.count} of ${watched.length + notified.length} resolved after ${round((performance.now() - started) / 1000, 0)} s; settling one interval, then measuring ${windowS} s`);
    await sleep(INTERVAL_S * 1000);

    const snapshot = async () => ({
      at: performance.now(),
      cpu: { controller: cpuSeconds(running.pid), apiserver: cpuSeconds(pids.apiserver), registry: cpuSeconds(pids.registry) },
      writes: await api.writes(contender.writeResources),
      leaseWrites: (await api.writes(['leases'])).total,
      checks: await running.checks(),
      connections: counter.accepted,
      logBytes: statSync(context.registry.logFile).size,
    });
    const before = await snapshot();
    const rssSamples: number[] = [];
    while (performance.now() - before.at < windowS * 1000) {
      rssSamples.push(rssBytes(running.pid));
      await sleep(1000);
    }
    const after = await snapshot();
    const seconds = (after.at - before.at) / 1000;
    const objectIntervals = (watched.length * seconds) / INTERVAL_S;
    const requests = await registryRequests(context.registry.logFile, before.logBytes, after.logBytes);
    const checks = after.checks - before.checks;
    const writes = after.writes.total - before.writes.total;
    const writesByKind = Object.fromEntries(
      Object.entries(after.writes.byKind)
        .map(([kind, n]) => [kind, n - (before.writes.byKind[kind] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    const openConnectionsAtEnd = counter.open;
    const rssFileMiB = round(rssFileBytes(running.pid) / MiB, 1);
    const heapInUseMiB = round((await running.heapInUseBytes()) / MiB, 1);

    progress(`peer: ${contender.label} at ${size}: ${shape.pushes} pushes${notified.length ? ' each, polled and notified' : ''}`);
    const poll = await pushLatencies(contender, namespace, watched.slice(0, shape.pushes), context.registry, shape, context);
    const notify = notified.length > 0 ? await pushLatencies(contender, namespace, notified, context.notifyRegistry, shape, context) : undefined;

    const cores = (key: keyof typeof before.cpu) => round((after.cpu[key] - before.cpu[key]) / seconds, 3);
    return {
      contender: contender.label,
      size,
      figures: {
        rss_mib: round(median(rssSamples) / MiB, 1),
        controller_cpu_cores: cores('controller'),
        apiserver_cpu_cores: cores('apiserver'),
        registry_cpu_cores: cores('registry'),
        registry_cpu_ms_per_refresh: checks > 0 ? round(((after.cpu.registry - before.cpu.registry) / checks) * 1000, 2) : null,
        idle_api_writes_per_object_interval: round(writes / objectIntervals, 4),
        registry_requests_per_object_interval: round(Object.values(requests).reduce((a, b) => a + b, 0) / objectIntervals, 3),
        registry_connections_per_1000_checks: checks > 0 ? round(((after.connections - before.connections) / checks) * 1000, 1) : null,
        latency_poll_p50_s: poll.p50,
        latency_poll_p99_s: poll.p99,
        resolved_s: resolvedS === null ? null : round(resolvedS, 1),
      },
      extra: {
        checksPerObjectInterval: round(checks / objectIntervals, 3),
        registryRequestsByKind: Object.fromEntries(Object.entries(requests).map(([kind, n]) => [kind, round(n / objectIntervals, 3)])),
        writesByKind,
        leaseWritesPerSecond: round((after.leaseWrites - before.leaseWrites) / seconds, 2),
        openConnectionsAtEnd,
        rssFileMiB,
        heapInUseMiB,
        latencyNotifyP50S: notify?.p50,
        latencyNotifyP99S: notify?.p99,
        latencyMissed: poll.missed + (notify?.missed ?? 0),
        resolvedAtTimeout: resolved.all ? undefined : `${resolved.count} of ${watched.length + notified.length}`,
      },
    };
  } finally {
    await running.stop();
  }
}

/** Lists the objects every second (every 3 s above 1,000) until each shows a digest, or the time is up. */
async function waitResolved(contender: Contender, namespace: string, total: number, timeoutS: number, pid: number): Promise<{ all: boolean; count: number }> {
  const deadline = performance.now() + timeoutS * 1000;
  let count = 0;
  for (;;) {
    const digests = await contender.digests(namespace);
    count = [...digests.values()].filter((digest) => digest !== undefined).length;
    if (count >= total) return { all: true, count };
    if (performance.now() > deadline) return { all: false, count };
    // The process must still be there: /proc/<pid> goes when it exits.
    statSync(`/proc/${pid}`);
    await sleep(total > 1_000 ? 3_000 : 1_000);
  }
}

/**
 * Pushes a new image to each watched tag, one after the other, and times push done → the status shows
 * the new digest, by reading each pending object every 200 ms.
 */
async function pushLatencies(contender: Contender, namespace: string, targets: Watched[], registry: Registry, shape: Shape, { layoutDir }: Context) {
  const timeoutMs = (shape.quick ? 6 : 18) * INTERVAL_S * 1000;
  const pending: { name: string; was: string | undefined; pushedAt: number; seenAt?: number }[] = [];
  let pushing = true;
  const watcher = (async () => {
    const deadline = () => (pending[pending.length - 1]?.pushedAt ?? performance.now()) + timeoutMs;
    while (pushing || (pending.some((p) => p.seenAt === undefined) && performance.now() < deadline())) {
      for (const push of pending.filter((p) => p.seenAt === undefined)) {
        const digest = await contender.digest(namespace, push.name);
        if (digest !== push.was) push.seenAt = performance.now();
      }
      await sleep(200);
    }
  })();
  try {
    for (const { name, image } of targets) {
      const tag = image.slice(image.lastIndexOf(':') + 1);
      const repository = image.slice(image.indexOf('/') + 1, image.lastIndexOf(':'));
      const was = await contender.digest(namespace, name);
      const layout = await writeImageLayout(join(layoutDir, `push-${namespace}-${name}-${Date.now()}`), { tag });
      await pushImage(layout, `${registry.host}/${repository}:${tag}`);
      pending.push({ name, was, pushedAt: performance.now() });
    }
  } finally {
    pushing = false;
    await watcher;
  }
  const latencies = pending.filter((p) => p.seenAt !== undefined).map((p) => (p.seenAt! - p.pushedAt) / 1000);
  const missed = pending.length - latencies.length;
  // A push never seen counts as the timeout, so a controller that falls behind is not flattered.
  const all = [...latencies, ...Array.from({ length: missed }, () => timeoutMs / 1000)];
  return { p50: all.length ? round(percentile(all, 50), 2) : null, p99: all.length ? round(percentile(all, 99), 2) : null, missed };
}

// ---------------------------------------------------------------------------------------------------
// The report

export function ratio(ours: number | null | undefined, peer: number | null | undefined): number | null {
  if (ours === null || ours === undefined || peer === null || peer === undefined || peer === 0) return null;
  return round(ours / peer, 3);
}

interface RunShape {
  windowS: number;
  pushes: number;
  quick: boolean;
  /** CPU with no controller running. */
  idle: { apiserverCores: number; registryCores: number };
}

function report(results: Result[], sizes: number[], { windowS, pushes, quick, idle }: RunShape): PeerReport {
  const find = (contender: string, size: number) => results.find((r) => r.contender === contender && r.size === size);
  const ratios: Record<string, number | null> = {};
  sizes.forEach((size, index) => {
    const label = SIZE_LABELS[index]!;
    const [mine, fluxDefault, fluxStorage] = ['ours', 'flux', 'flux-storage'].map((c) => find(c, size)?.figures);
    for (const { key } of ROWS) {
      ratios[`peer_${RATIO_NAMES[key]}_ratio_at_${label}`] = ratio(mine?.[key], fluxDefault?.[key]);
      ratios[`peer_${RATIO_NAMES[key]}_ratio_fluxstorage_at_${label}`] = ratio(mine?.[key], fluxStorage?.[key]);
    }
  });

  const large = sizes[sizes.length - 1]!;
  const small = sizes[0]!;
  const at = (contender: string, size: number, key: keyof PeerFigures) => find(contender, size)?.figures[key] ?? null;
  const shape = `${large} objects on ${large} distinct tags, interval ${INTERVAL_S} s, ${windowS} s idle window`;
  const goal = (key: string, value: number | null, bound: number, how: string, notes?: string): Figure => ({
    key,
    value,
    unit: '',
    goal: `≤ ${bound}`,
    met: value !== null && value <= bound,
    how,
    notes,
  });
  const oursConnections = at('ours', large, 'registry_connections_per_1000_checks');
  const figures: Figure[] = [
    goal('peer_rss_ratio_at_5000', ratios.peer_rss_ratio_at_5000 ?? null, 0.5, `VmRSS ours ÷ Flux defaults, median of 1 s samples, ${shape}`, `ours ${at('ours', large, 'rss_mib')} MiB, Flux ${at('flux', large, 'rss_mib')} MiB`),
    goal('peer_apiserver_cpu_ratio_at_5000', ratios.peer_apiserver_cpu_ratio_at_5000 ?? null, 0.5, `kube-apiserver utime+stime, ours ÷ Flux defaults, ${shape}`, `ours ${at('ours', large, 'apiserver_cpu_cores')} cores, Flux ${at('flux', large, 'apiserver_cpu_cores')}`),
    goal('peer_registry_cpu_ratio_at_5000', ratios.peer_registry_cpu_ratio_at_5000 ?? null, 1, `docker-registry utime+stime, ours ÷ Flux defaults, ${shape}`, `ours ${at('ours', large, 'registry_cpu_cores')} cores, Flux ${at('flux', large, 'registry_cpu_cores')}; per object refreshed ours ${at('ours', large, 'registry_cpu_ms_per_refresh')} ms, Flux ${at('flux', large, 'registry_cpu_ms_per_refresh')} ms`),
    {
      ...goal('peer_idle_api_writes_at_5000', at('ours', large, 'idle_api_writes_per_object_interval'), 0, `ours: apiserver_request_total POST/PATCH/PUT per object-interval, ${shape}`),
      goal: '0',
      notes: `Flux defaults ${at('flux', large, 'idle_api_writes_per_object_interval')}, FluxStorage ${at('flux-storage', large, 'idle_api_writes_per_object_interval')} per object-interval`,
    },
    goal('registry_connections_per_1000_checks', oursConnections, 10, `ours: connections accepted by a TCP pass-through in front of the registry ÷ checks × 1,000, ${shape}`, `Flux defaults ${at('flux', large, 'registry_connections_per_1000_checks')} per 1,000 scans`),
    goal('peer_rss_ratio_fluxstorage_at_1000', ratios.peer_rss_ratio_fluxstorage_at_1000 ?? null, 1, `VmRSS ours ÷ Flux with FluxStorage, ${small} objects`, `ours ${at('ours', small, 'rss_mib')} MiB, FluxStorage ${at('flux-storage', small, 'rss_mib')} MiB`),
    goal('peer_rss_ratio_fluxstorage_at_5000', ratios.peer_rss_ratio_fluxstorage_at_5000 ?? null, 1, `VmRSS ours ÷ Flux with FluxStorage, ${large} objects`, `ours ${at('ours', large, 'rss_mib')} MiB, FluxStorage ${at('flux-storage', large, 'rss_mib')} MiB`),
  ];

  const tables = sizes.map((size) => sideBySide(size, find('ours', size), find('flux', size), find('flux-storage', size)));
  const table = [
    `peer comparison (${quick ? 'quick: scaled-down sizes' : 'full run'}): ours vs Flux image-reflector-controller ${FLUX_VERSION}, same control plane, registry, distinct tags, interval ${INTERVAL_S} s; ${windowS} s idle window, ${pushes} pushes`,
    `with no controller running: kube-apiserver ${idle.apiserverCores} cores, docker-registry ${idle.registryCores} cores (included in the figures below)`,
    ...tables,
    '',
    'not like for like:',
    ...NOT_LIKE_FOR_LIKE.map((line) => `  - ${line}`),
  ].join('\n');
  return { figures, ratios, table, details: { sizes, windowS, pushes, fluxVersion: FLUX_VERSION, idle, results } };
}

export function sideBySide(size: number, mine?: Result, fluxDefault?: Result, fluxStorage?: Result): string {
  const show = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? '—' : value.toFixed(digits));
  const rows: string[][] = ROWS.map(({ key, title, digits }) => [
    title,
    show(mine?.figures[key], digits),
    show(fluxDefault?.figures[key], digits),
    show(ratio(mine?.figures[key], fluxDefault?.figures[key]), 2),
    show(fluxStorage?.figures[key], digits),
    show(ratio(mine?.figures[key], fluxStorage?.figures[key]), 2),
  ]);
  const kinds = [...new Set([mine, fluxDefault, fluxStorage].flatMap((r) => Object.keys(r?.extra.registryRequestsByKind ?? {})))].sort();
  for (const kind of kinds) {
    const of = (r?: Result) => r?.extra.registryRequestsByKind[kind] ?? 0;
    rows.push([`  of which ${kind}`, show(of(mine), 2), show(of(fluxDefault), 2), show(ratio(of(mine), of(fluxDefault)), 2), show(of(fluxStorage), 2), show(ratio(of(mine), of(fluxStorage)), 2)]);
  }
  rows.splice(
    1,
    0,
    ['  of which file-backed (MiB)', show(mine?.extra.rssFileMiB, 1), show(fluxDefault?.extra.rssFileMiB, 1), '', show(fluxStorage?.extra.rssFileMiB, 1), ''],
    ['  heap in use, V8 / Go (MiB)', show(mine?.extra.heapInUseMiB, 1), show(fluxDefault?.extra.heapInUseMiB, 1), '', show(fluxStorage?.extra.heapInUseMiB, 1), ''],
  );
  rows.push(
    ['registry connections open at the window’s end', String(mine?.extra.openConnectionsAtEnd ?? '—'), String(fluxDefault?.extra.openConnectionsAtEnd ?? '—'), '', String(fluxStorage?.extra.openConnectionsAtEnd ?? '—'), ''],
    ['checks (Flux: scans) per object-interval', show(mine?.extra.checksPerObjectInterval, 2), show(fluxDefault?.extra.checksPerObjectInterval, 2), '', show(fluxStorage?.extra.checksPerObjectInterval, 2), ''],
    ['push → status, notified, p50 / p99 (s)', mine ? `${show(mine.extra.latencyNotifyP50S, 2)} / ${show(mine.extra.latencyNotifyP99S, 2)}` : '—', 'no notifications', '', '', ''],
    ['pushes never seen in status', String(mine?.extra.latencyMissed ?? '—'), String(fluxDefault?.extra.latencyMissed ?? '—'), '', String(fluxStorage?.extra.latencyMissed ?? '—'), ''],
  );
  const header = [`${size} objects`, 'ours', 'Flux', 'ours/Flux', 'FluxStorage', 'ours/FluxStorage'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const unresolved = [mine, fluxDefault, fluxStorage].filter((r) => r?.extra.resolvedAtTimeout).map((r) => `${r!.contender}: only ${r!.extra.resolvedAtTimeout} resolved in time`);
  return ['', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...unresolved.map((u) => `  ${u}`)].join('\n');
}
