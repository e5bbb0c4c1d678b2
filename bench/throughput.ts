/**
 * throughput_ratio: digest checks per second through the controller's registry path
 * (RegistryClient.resolveDigest) against a bare undici HEAD loop, same registry, same concurrency, same
 * tags, in alternating windows so drift on a busy machine hits both sides alike.
 */
import { Agent, request } from 'undici';
import { MANIFEST_ACCEPT } from '../controller/src/registry/manifest.js';
import { parseImageReference, RegistryClient } from '../controller/src/registry/index.js';
import { createLogger } from '../controller/src/log.js';
import { round, seedTags, type BenchOptions, type Figure } from './support.js';

/** The controller's default --concurrency. */
const CONCURRENCY = 16;
const TAGS = 64;
const REPOSITORY = 'bench/throughput';

export async function measureThroughput(registryHost: string, layoutDir: string, { quick, progress }: BenchOptions): Promise<Figure> {
  const windowMs = quick ? 2_000 : 5_000;
  const rounds = quick ? 2 : 4;
  progress(`throughput: ${TAGS} tags, concurrency ${CONCURRENCY}, ${rounds} rounds of ${windowMs / 1000} s per side`);
  await seedTags(registryHost, REPOSITORY, TAGS, (i) => `t${i}`, layoutDir);

  const client = new RegistryClient({ log: createLogger({ level: 'warn' }) });
  const references = Array.from({ length: TAGS }, (_, i) => parseImageReference(`${registryHost}/${REPOSITORY}:t${i}`));
  const agent = new Agent();
  const urls = Array.from({ length: TAGS }, (_, i) => `http://${registryHost}/v2/${REPOSITORY}/manifests/t${i}`);
  const sides = {
    client: async (i: number) => {
      await client.resolveDigest(references[i % TAGS]!);
    },
    bare: async (i: number) => {
      const { statusCode, headers, body } = await request(urls[i % TAGS]!, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT }, dispatcher: agent });
      await body.dump();
      if (statusCode !== 200 || !headers['docker-content-digest']) throw new Error(`HEAD answered ${statusCode}`);
    },
  };
  const totals = { client: { checks: 0, ms: 0 }, bare: { checks: 0, ms: 0 } };
  try {
    // Warm both pools (connections, the client's plain-HTTP discovery) before anything counts.
    for (const run of Object.values(sides)) await loop(run, 500);
    for (let r = 0; r < rounds; r++) {
      for (const side of (r % 2 === 0 ? ['bare', 'client'] : ['client', 'bare']) as (keyof typeof sides)[]) {
        const { checks, ms } = await loop(sides[side], windowMs);
        totals[side].checks += checks;
        totals[side].ms += ms;
      }
    }
  } finally {
    await client.close();
    await agent.close();
  }
  const rate = (side: keyof typeof totals) => (totals[side].checks / totals[side].ms) * 1000;
  const ratio = rate('client') / rate('bare');
  return {
    key: 'throughput_ratio',
    value: round(ratio),
    unit: '',
    goal: '≥ 0.9',
    met: ratio >= 0.9,
    how: `resolveDigest vs bare undici HEAD, ${CONCURRENCY} in flight, ${TAGS} distinct tags, alternating ${windowMs / 1000} s windows`,
    notes: `client ${Math.round(rate('client'))}/s, bare ${Math.round(rate('bare'))}/s; bench process and docker-registry share the 2 cores`,
    details: { clientChecksPerSecond: round(rate('client'), 1), bareChecksPerSecond: round(rate('bare'), 1), concurrency: CONCURRENCY, tags: TAGS },
  };
}

/** Runs `check` with CONCURRENCY workers for `windowMs`; counts completed checks. */
async function loop(check: (i: number) => Promise<void>, windowMs: number): Promise<{ checks: number; ms: number }> {
  const started = performance.now();
  const deadline = started + windowMs;
  let issued = 0;
  let checks = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      await check(issued++);
      checks++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { checks, ms: performance.now() - started };
}
