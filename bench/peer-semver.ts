/**
 * The peer comparison like for like: choosing the newest release, which Flux always does. N
 * repositories of about 100 tags each (90 releases in range, 10 above it); one ImageRepository and one
 * ImagePolicy (semver) per repository for Flux, defaults and FluxStorage, one Image with a semver policy
 * for ours; the same 10 s interval, one contender after the other on the same control plane and registry
 * (full run: 1,000 repositories; --quick: 50). Then a new release is pushed into the range of a few
 * repositories (a higher one for each contender), and the time until it reaches status is measured. The
 * figures are bench/peer.ts's.
 */
import { join } from 'node:path';
import type { Registry } from '../test/support/registry.js';
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { startConnectionCounter } from './connection-counter.js';
import { flux, FLUX_VERSION, ours, type Watched } from './contenders.js';
import { clusterPids, INTERVAL_S, measureOne, RATIO_NAMES, ratio, ROWS, sideBySide, type PeerReport, type Result } from './peer.js';
import { seedTags, type AdminApi, type BenchOptions, type Figure } from './support.js';

const REPOSITORY = 'bench/semver';
const RANGE = '>=1.0.0 <2';
const IN_RANGE = 90;
const ABOVE_RANGE = 10;
/** The release a push adds for the n-th contender: above every seeded tag in range and every earlier push. */
const newRelease = (contender: number) => `1.1.${contender}`;
/** The JSON keys name the full run's size, whatever --quick makes it. */
const SIZE_LABEL = '1000';

/** Every ratio key: ours ÷ Flux defaults, and ours ÷ Flux with FluxStorage. */
export const PEER_SEMVER_RATIO_KEYS = Object.values(RATIO_NAMES).flatMap((name) => [
  `peer_semver_${name}_ratio_at_${SIZE_LABEL}`,
  `peer_semver_${name}_ratio_fluxstorage_at_${SIZE_LABEL}`,
]);

/** The keys with a goal (issue #17), shown in the main table. */
export const PEER_SEMVER_GOAL_KEYS = [
  'peer_semver_rss_ratio_fluxstorage_at_1000',
  'peer_semver_registry_cpu_per_refresh_ratio_at_1000',
  'peer_semver_idle_api_writes_at_1000',
  'peer_semver_latency_poll_p99_s_at_1000',
];

export async function measurePeerSemver(system: SupplyChainSystem, api: AdminApi, registry: Registry, layoutDir: string, { quick, progress }: BenchOptions): Promise<PeerReport> {
  const size = quick ? 50 : 1_000;
  const windowS = quick ? 20 : 60;
  const pushes = quick ? 3 : 10;
  const counter = await startConnectionCounter(registry.host);
  try {
    progress(`peer semver: ${size} repositories of ${IN_RANGE + ABOVE_RANGE} tags`);
    for (let r = 0; r < size; r++) {
      await seedTags(registry.host, `${REPOSITORY}-${r}`, IN_RANGE + ABOVE_RANGE, (i) => (i < IN_RANGE ? `1.0.${i}` : `2.0.${i - IN_RANGE}`), join(layoutDir, `seed-${r}`));
    }
    const contenders = [ours(system, api, INTERVAL_S), flux(system, api, INTERVAL_S, layoutDir, { fluxStorage: false }), flux(system, api, INTERVAL_S, layoutDir, { fluxStorage: true })];
    const pids = clusterPids(system, registry);
    const results: Result[] = [];
    for (const [index, contender] of contenders.entries()) {
      progress(`peer semver: ${contender.label} at ${size}`);
      const watched: Watched[] = Array.from({ length: size }, (_, r) => ({ name: `s${r}`, image: `${counter.host}/${REPOSITORY}-${r}:${newRelease(index)}`, semverRange: RANGE }));
      const shape = { scenario: 'peer-semver', size, watched, notified: [], windowS, pushes, quick };
      const result = await measureOne(contender, shape, { api, registry, notifyRegistry: registry, counter, pids, layoutDir, progress });
      progress(`peer semver: ${contender.label} at ${size}: ${JSON.stringify(result)}`);
      results.push(result);
    }
    return report(results, size, { windowS, pushes, quick });
  } finally {
    await counter.stop();
  }
}

function report(results: Result[], size: number, { windowS, pushes, quick }: { windowS: number; pushes: number; quick: boolean }): PeerReport {
  const [mine, fluxDefault, fluxStorage] = ['ours', 'flux', 'flux-storage'].map((label) => results.find((r) => r.contender === label));
  const ratios: Record<string, number | null> = {};
  for (const { key } of ROWS) {
    ratios[`peer_semver_${RATIO_NAMES[key]}_ratio_at_${SIZE_LABEL}`] = ratio(mine?.figures[key], fluxDefault?.figures[key]);
    ratios[`peer_semver_${RATIO_NAMES[key]}_ratio_fluxstorage_at_${SIZE_LABEL}`] = ratio(mine?.figures[key], fluxStorage?.figures[key]);
  }
  const shape = `${size} repositories of ${IN_RANGE + ABOVE_RANGE} tags, semver "${RANGE}", interval ${INTERVAL_S} s, ${windowS} s idle window`;
  const goal = (key: string, value: number | null | undefined, bound: number, how: string, notes?: string): Figure => ({
    key,
    value: value ?? null,
    unit: '',
    goal: bound === 0 ? '0' : `≤ ${bound}`,
    met: value !== null && value !== undefined && value <= bound,
    how,
    notes,
  });
  const figures = [
    goal('peer_semver_rss_ratio_fluxstorage_at_1000', ratios.peer_semver_rss_ratio_fluxstorage_at_1000, 0.5, `VmRSS ours ÷ Flux with FluxStorage, ${shape}`, `ours ${mine?.figures.rss_mib} MiB, FluxStorage ${fluxStorage?.figures.rss_mib} MiB, Flux defaults ${fluxDefault?.figures.rss_mib} MiB`),
    goal('peer_semver_registry_cpu_per_refresh_ratio_at_1000', ratios.peer_semver_registry_cpu_per_refresh_ratio_at_1000, 0.5, `docker-registry CPU per object refreshed, ours ÷ Flux defaults, ${shape}`, `ours ${mine?.figures.registry_cpu_ms_per_refresh} ms, Flux ${fluxDefault?.figures.registry_cpu_ms_per_refresh} ms`),
    goal('peer_semver_idle_api_writes_at_1000', mine?.figures.idle_api_writes_per_object_interval, 0, `ours: API writes per object-interval while no release moves, ${shape}`, `Flux defaults ${fluxDefault?.figures.idle_api_writes_per_object_interval}`),
    goal('peer_semver_latency_poll_p99_s_at_1000', mine?.figures.latency_poll_p99_s, INTERVAL_S, `ours: push of a new release in range → status, p99 of ${pushes}, ${shape}`, `Flux defaults p99 ${fluxDefault?.figures.latency_poll_p99_s} s`),
  ];
  const table = [
    `peer semver comparison (${quick ? 'quick: scaled-down size' : 'full run'}): ours vs Flux image-reflector-controller ${FLUX_VERSION}, ${shape}, ${pushes} new releases pushed`,
    sideBySide(size, mine, fluxDefault, fluxStorage),
  ].join('\n');
  return { figures, ratios, table, details: { size, windowS, pushes, range: RANGE, results } };
}
