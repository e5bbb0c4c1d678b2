// Deploy only what is signed, through real Cartographer: a supply chain whose Image template requires a
// cosign signature by the key in the Workload's namespace. cosign signs digest A: the Deployment runs A.
// An unsigned B pushed under the same tag does not reach the Deployment, and `kubectl describe image`
// says why; once cosign signs B, the Deployment moves to B. The conditions are printed at each step.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image } from '../../controller/src/api/image.js';
import { makeKeyPair } from '../../controller/src/testing/signing.js';
import { cosignOk, findCosign, importKeyPair, OFFLINE_SIGN, type CosignKey } from '../support/cosign.js';
import { waitFor } from '../support/wait.js';
import { applySignedChain, deployedImage, scenarioSystem, signedWorkload, waitForDeployedImage } from './scenario.js';

const cosign = await findCosign();
const WORKLOAD = 'signed-app';
const system = scenarioSystem();
let work: string;
let releaseKey: CosignKey;

const conditionsOf = (image: Image | undefined) =>
  JSON.stringify({ latestImage: image?.status?.latestImage, verification: image?.status?.verification, conditions: image?.status?.conditions }, null, 2);

describe.skipIf(!cosign)('only signed digests are deployed (needs cosign: scripts/e2e-setup.sh)', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'signed-e2e-'));
    releaseKey = await importKeyPair(cosign!, join(work, 'home'), work, 'release', makeKeyPair('ecdsa-p256'));
    await applySignedChain(system, releaseKey.publicPem);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sign = (repository: string, digest: string) =>
    cosignOk(cosign!, ['sign', '--key', releaseKey.keyFile, ...OFFLINE_SIGN, `${system.registry!.host}/${repository}@${digest}`], join(work, 'home'));

  it('deploys A once signed, keeps A while an unsigned B holds the tag, and moves to B once B is signed', async () => {
    const repository = `signed/${WORKLOAD}`;
    const at = (digest: string) => `${system.registry!.host}/${repository}@${digest}`;

    const digestA = await system.push(repository);
    await sign(repository, digestA);
    await system.apply(signedWorkload(WORKLOAD, `${system.registry!.host}/signed/`));
    await waitForDeployedImage(system, WORKLOAD, at(digestA), { timeoutMs: 60_000 });
    const signedA = await system.image(WORKLOAD);
    console.log(`step 1, A signed and deployed:\n${conditionsOf(signedA)}`);
    expect(signedA?.status?.verification).toMatchObject({ digest: digestA, verified: true, authority: 'release' });

    const digestB = await system.push(repository);
    const refused = await waitFor(
      'Image refusing the unsigned B',
      async () => {
        const image = await system.image(WORKLOAD);
        return image?.status?.verification?.digest === digestB ? image : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const described = await system.kubectl(['describe', 'images.example.com', WORKLOAD, '-n', 'default']);
    console.log(`step 2, unsigned B pushed:\n${conditionsOf(refused)}\n--- kubectl describe image ---\n${described}`);
    expect(refused.status?.latestImage).toBe(at(digestA));
    expect(refused.status?.verification).toEqual({ digest: digestB, verified: false, message: expect.stringContaining('has no cosign signature') });
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'SignatureUnverified' });
    expect(described).toMatch(new RegExp(`SignatureUnverified[\\s\\S]*${digestB}[\\s\\S]*has no cosign signature`));
    // Another interval later the Deployment still runs A.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await deployedImage(system, WORKLOAD)).toBe(at(digestA));

    await sign(repository, digestB);
    await waitForDeployedImage(system, WORKLOAD, at(digestB), { timeoutMs: 30_000 });
    const signedB = await system.image(WORKLOAD);
    console.log(`step 3, B signed:\n${conditionsOf(signedB)}`);
    expect(signedB?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'DigestResolved' });
  });
});
