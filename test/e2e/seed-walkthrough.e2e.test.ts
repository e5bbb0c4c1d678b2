// Scenario 1, the seed's walkthrough: push an image to localhost:5000/apps/demo, apply the demo
// Workload, and the Deployment runs that exact digest; push again to the same tag and Cartographer
// re-stamps the Deployment with the new digest, which makes a second ReplicaSet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_REGISTRY, SupplyChainSystem } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';

/** The seed documents a 10 s poll; the issue allows interval + 5 s for a push to reach the Image. */
const SEED_INTERVAL_MS = 10_000;

const system = new SupplyChainSystem();

beforeAll(() => system.start(), 300_000);
afterAll(() => system.stop(), 60_000);

async function deployedImage(): Promise<string> {
  return system.kubectl(['get', 'deployment', 'demo', '-n', 'default', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
}

async function replicaSetImages(): Promise<string[]> {
  const images = await system.kubectl([
    'get', 'replicasets', '-n', 'default', '-l', 'app=demo',
    '-o', 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}{"\\n"}{end}',
  ]);
  return images.split('\n').filter(Boolean).sort();
}

describe("the seed's walkthrough", () => {
  let firstDigest = '';

  it('deploys the digest the tag points at when the Workload is applied', async () => {
    firstDigest = await system.push('apps/demo');
    // The demo Workload came with dist/: Cartographer stamps the Image as soon as the supply chain exists.
    const image = await system.waitForLatestImage('demo', `${SEED_REGISTRY}/apps/demo@${firstDigest}`, { timeoutMs: 60_000 });

    expect(image.spec.image).toBe(`${SEED_REGISTRY}/apps/demo`);
    expect(image.status?.complete).toBe(true);
    expect(image.status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'DigestResolved',
    });
    await waitFor('Deployment demo with the first digest', async () => (await deployedImage()) === `${SEED_REGISTRY}/apps/demo@${firstDigest}`, {
      timeoutMs: 30_000,
    });
    const workloadReady = await waitFor('Workload demo Ready', async () => {
      const ready = await system.kubectl(['get', 'workload', 'demo', '-n', 'default', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return ready === 'True' ? ready : undefined;
    });
    expect(workloadReady).toBe('True');
  });

  it('redeploys when the tag moves: new digest in the Image, the Deployment and a second ReplicaSet', async () => {
    const secondDigest = await system.push('apps/demo');
    expect(secondDigest).not.toBe(firstDigest);
    const pushedAt = Date.now();

    await system.waitForLatestImage('demo', `${SEED_REGISTRY}/apps/demo@${secondDigest}`, { timeoutMs: SEED_INTERVAL_MS + 5_000 });
    const reachedImageMs = Date.now() - pushedAt;
    await waitFor('Deployment demo with the second digest', async () => (await deployedImage()) === `${SEED_REGISTRY}/apps/demo@${secondDigest}`, {
      timeoutMs: 30_000,
    });
    const replicaSets = await waitFor('two ReplicaSets for demo', async () => {
      const images = await replicaSetImages();
      return images.length === 2 ? images : undefined;
    });

    console.log(`push → Image status in ${reachedImageMs} ms (interval ${SEED_INTERVAL_MS} ms)`);
    expect(replicaSets).toEqual([`${SEED_REGISTRY}/apps/demo@${firstDigest}`, `${SEED_REGISTRY}/apps/demo@${secondDigest}`].sort());
  });
});
