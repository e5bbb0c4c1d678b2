/**
 * `npm run bench [-- --quick] [-- --json] [-- --only=scale,…] [-- --peer=flux|none]`: the controller's
 * performance figures, measured against real processes on loopback (docker-registry, etcd +
 * kube-apiserver + kube-controller-manager, the bundled controller under its dist/ ServiceAccount), and
 * side by side with Flux's image-reflector-controller (bench/peer.ts, and choosing by semver in
 * bench/peer-semver.ts; `--peer=none` leaves both out).
 * Prints a table; with --json, one JSON object as the last line of stdout. --quick scales every
 * measurement down; --only runs some measurements (throughput, latency, dedup, scale, peer). Progress
 * goes to stderr.
 *
 * Needs what the e2e tests need: `npm run build`, scripts/e2e-setup.sh's binaries, docker-registry,
 * skopeo; for the peer, `scripts/e2e-setup.sh --with-flux`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../test/support/registry.js';
import { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { measureDedup } from './dedup.js';
import { measureLatency } from './latency.js';
import { measurePeer, PEER_GOAL_KEYS, PEER_RATIO_KEYS, type PeerReport } from './peer.js';
import { controllerRuntime, describeRuntime, type ControllerRuntime } from './runtime.js';
import { measurePeerSemver, PEER_SEMVER_GOAL_KEYS, PEER_SEMVER_RATIO_KEYS } from './peer-semver.js';
import { measureScale } from './scale.js';
import { AdminApi, Cleanup, loadAverage, type BenchOptions, type Figure } from './support.js';
import { measureThroughput } from './throughput.js';

/** The order of the report: the goals (bench/RESULTS.md), then the peer comparison's. */
const KEYS = [
  'throughput_ratio',
  'idle_api_writes_per_check',
  'dedup_requests_per_interval',
  'latency_poll_p99_s',
  'latency_notify_p99_s',
  'rss_mib_at_5000',
  'bytes_per_image',
  'schedule_lag_p99_s',
  'cpu_core_at_1000_per_s',
  'startup_ready_s',
  ...PEER_GOAL_KEYS,
  ...PEER_SEMVER_GOAL_KEYS,
];

/** What `--only` can name: each measurement and the keys it reports. */
const MEASUREMENTS = ['throughput', 'latency', 'dedup', 'scale', 'peer'] as const;
/** What `--peer` can name; `none` leaves the comparison out. */
const PEERS = ['flux', 'none'];
type Measurement = (typeof MEASUREMENTS)[number];

async function main(argv: string[]): Promise<number> {
  argv = argv.flatMap((arg, i) => (arg === '--peer' ? [] : argv[i - 1] === '--peer' ? [`--peer=${arg}`] : [arg]));
  const onlyArg = argv.find((arg) => arg.startsWith('--only='));
  const only = onlyArg?.slice('--only='.length).split(',');
  const peerArg = argv.find((arg) => arg.startsWith('--peer='));
  const peer = peerArg?.slice('--peer='.length) ?? 'flux';
  let runtime: ControllerRuntime;
  let runtimeArgs: string[];
  try {
    ({ runtime, consumed: runtimeArgs } = controllerRuntime(argv));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const unknown = argv.filter((arg) => !['--quick', '--json'].includes(arg) && arg !== onlyArg && arg !== peerArg && !runtimeArgs.includes(arg));
  const bad = [...(only?.filter((name) => !(MEASUREMENTS as readonly string[]).includes(name)) ?? []), ...(PEERS.includes(peer) ? [] : [peerArg!])];
  if (unknown.length > 0 || bad.length > 0) {
    console.error(
      `usage: npm run bench [-- --quick] [-- --json] [-- --only=${MEASUREMENTS.join(',')}] [-- --peer=${PEERS.join('|')}] [-- --node=<x.y.z>] [-- --node-options="…"] [-- --node-args="…"] [-- --controller-env=NAME=VALUE]  (unknown: ${[...unknown, ...bad].join(' ')})`,
    );
    return 2;
  }
  /** Why a key has no figure: left out by a flag, or a failure (reported above it). */
  const whyNotMeasured = (key: string) =>
    peer === 'none' && (PEER_GOAL_KEYS as readonly string[]).includes(key) ? 'left out by --peer=none' : only ? `not in --only=${only.join(',')}` : 'an earlier step failed';
  const runs = (measurement: Measurement) => (measurement !== 'peer' || peer !== 'none') && (only === undefined || only.includes(measurement));
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  const began = performance.now();
  const options: BenchOptions = {
    quick,
    runtime,
    progress: (message) => console.error(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}`),
  };
  const machine = { nproc: availableParallelism(), loadAverage1mAtStart: loadAverage() };
  options.progress(`${quick ? 'quick' : 'full'} run; ${machine.nproc} cores, 1-minute load ${machine.loadAverage1mAtStart}; ${describeRuntime(runtime)}`);

  const cleanup = new Cleanup();
  let interruptedBy: NodeJS.Signals | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches the bench twice (from the terminal, and forwarded by npm): a second signal must
    // not end the process while it is still stopping the servers, or they outlive it.
    if (interruptedBy !== undefined) return;
    interruptedBy = signal;
    console.error(`\n${signal}: stopping every server the bench started`);
    void cleanup.runAll().then(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  const figures: Figure[] = [];
  const failures: string[] = [];
  let peerReport: PeerReport | undefined;
  let semverReport: PeerReport | undefined;
  /** Runs one measurement; a failure is reported in the table, and the others still run. */
  const attempt = async (keys: string[], measure: () => Promise<Figure | Figure[]>) => {
    try {
      figures.push(...[await measure()].flat());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${keys.join(', ')}: ${message}`);
      options.progress(`FAILED ${keys.join(', ')}: ${message}`);
      for (const key of keys) figures.push({ key, value: null, unit: '', goal: '', how: 'measurement failed', notes: message.split('\n')[0] });
    }
  };

  try {
    const work = await mkdtemp(join(tmpdir(), 'bench-'));
    cleanup.add('work directory', () => rm(work, { recursive: true, force: true }));
    const layouts = (name: string) => join(work, name);

    // A registry that notifies no one, for everything but the notification latency.
    const registry = await startRegistry();
    cleanup.add('bench registry', () => registry.stop());
    if (runs('throughput')) await attempt(['throughput_ratio'], () => measureThroughput(registry.host, layouts('throughput'), options));

    options.progress('starting the control plane, kubectl apply -f dist/, and the notifying registry');
    const system = new SupplyChainSystem({ cartographer: false, registryPort: 0, startController: false, notifications: true, controllerRuntime: runtime });
    cleanup.add('control plane, controllers and registry', () => system.stop());
    await system.start();
    const api = new AdminApi(system.controlPlane.kubeconfig);
    cleanup.add('API client', () => api.close());

    if (runs('latency')) await attempt(['latency_poll_p99_s', 'latency_notify_p99_s'], () => measureLatency(system, api, registry.host, layouts('latency'), options));
    if (runs('dedup')) await attempt(['dedup_requests_per_interval'], () => measureDedup(system, api, registry.host, layouts('dedup'), options));
    if (runs('scale')) {
      await attempt(
        ['startup_ready_s', 'rss_mib_at_5000', 'bytes_per_image', 'schedule_lag_p99_s', 'cpu_core_at_1000_per_s', 'idle_api_writes_per_check'],
        () => measureScale(system, api, registry.host, layouts('scale'), options),
      );
    }
    // Last: it runs each controller in turn, with none of the others' left running.
    if (runs('peer')) {
      await attempt(PEER_GOAL_KEYS, async () => {
        peerReport = await measurePeer(system, api, registry, layouts('peer'), options);
        return peerReport.figures;
      });
      await attempt(PEER_SEMVER_GOAL_KEYS, async () => {
        semverReport = await measurePeerSemver(system, api, registry, layouts('peer-semver'), options);
        return semverReport.figures;
      });
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
    options.progress(`FAILED: ${failures[failures.length - 1]}`);
  } finally {
    options.progress('stopping everything');
    await cleanup.runAll();
  }

  const ordered = KEYS.map(
    (key) => figures.find((f) => f.key === key) ?? { key, value: null, unit: '', goal: '', how: 'not measured', notes: whyNotMeasured(key) },
  );
  const elapsedS = Math.round((performance.now() - began) / 1000);
  const machineAtEnd = { ...machine, loadAverage1mAtEnd: loadAverage(), elapsedS };
  console.log(table(ordered, quick, machineAtEnd, runtime));
  if (peerReport) console.log(`\n${peerReport.table}`);
  if (semverReport) console.log(`\n${semverReport.table}`);
  if (json) {
    const report: Record<string, unknown> = { quick, machine: machineAtEnd, runtime: { node: runtime.version, nodeArgs: runtime.args, nodeOptions: runtime.nodeOptions, env: runtime.env } };
    for (const figure of ordered) report[figure.key] = figure.value;
    if (runs('peer')) for (const key of PEER_RATIO_KEYS) report[key] = peerReport?.ratios[key] ?? null;
    if (runs('peer')) for (const key of PEER_SEMVER_RATIO_KEYS) report[key] = semverReport?.ratios[key] ?? null;
    report.met = Object.fromEntries(ordered.filter((f) => f.met !== undefined).map((f) => [f.key, f.met]));
    report.notes = Object.fromEntries(ordered.filter((f) => f.notes).map((f) => [f.key, f.notes]));
    report.details = Object.fromEntries(ordered.filter((f) => f.details).map((f) => [f.key, f.details]));
    if (peerReport) report.peer = peerReport.details;
    if (semverReport) report.peer_semver = semverReport.details;
    if (failures.length > 0) report.failures = failures;
    console.log(JSON.stringify(report));
  }
  return failures.length > 0 ? 1 : 0;
}

function table(figures: Figure[], quick: boolean, machine: Record<string, number>, runtime: ControllerRuntime): string {
  const rows = figures.map((f) => [
    f.key,
    f.value === null ? '—' : `${f.value}${f.unit ? ` ${f.unit}` : ''}`,
    f.goal,
    f.met === undefined ? '' : f.met ? 'yes' : 'NO',
    f.how,
  ]);
  const header = ['key', 'value', 'goal', 'met', 'how it was measured'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const notes = figures.filter((f) => f.notes).map((f) => `  ${f.key}: ${f.notes}`);
  return [
    `simple-supply-chain benchmarks (${quick ? 'quick: scaled-down sizes, see "how"' : 'full run'}); ${machine.nproc} cores, 1-minute load ${machine.loadAverage1mAtStart} at start, ${machine.loadAverage1mAtEnd} at end, ${machine.elapsedS} s`,
    describeRuntime(runtime),
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(notes.length > 0 ? ['', 'notes:', ...notes] : []),
  ].join('\n');
}

process.exitCode = await main(process.argv.slice(2));
