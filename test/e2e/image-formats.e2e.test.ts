// Scenario 5, image formats through the whole supply chain: a multi-arch OCI index is deployed by the
// INDEX digest (what the kubelet resolves per platform), and a Docker schema 2 image by its manifest
// digest. The two Workloads also name their images both ways the ClusterImageTemplate allows: the
// `image_prefix` param (prefix + Workload name), and Cartographer's `spec.image`, which wins over a
// prefix the same Workload also sets.
import { describe, expect, it } from 'vitest';
import { DOCKER_MANIFEST, OCI_INDEX, skopeoMediaType } from '../support/oci.js';
import { deployedImage, scenarioSystem, waitForDeployedImage, webWorkload } from './scenario.js';

const system = scenarioSystem();

describe('image formats', () => {
  it('a multi-arch OCI index, named by image_prefix, is deployed by its index digest', async () => {
    const prefix = `${system.registry!.host}/formats/`;
    const repository = `${prefix}multiarch`;
    const indexDigest = await system.push('formats/multiarch', { multiArch: true, format: 'oci' });
    expect(await skopeoMediaType(`${repository}:latest`)).toBe(OCI_INDEX);

    await system.apply(webWorkload('multiarch', { imagePrefix: prefix }));
    const image = await system.waitForLatestImage('multiarch', `${repository}@${indexDigest}`, { timeoutMs: 60_000 });
    await waitForDeployedImage(system, 'multiarch', `${repository}@${indexDigest}`);

    expect(image.spec.image).toBe(repository);
    expect(image.status).toMatchObject({ digest: indexDigest, mediaType: OCI_INDEX, complete: true });
  });

  it("a Docker schema 2 image, named by the Workload's spec.image, is deployed by its digest; spec.image wins over image_prefix", async () => {
    const named = `${system.registry!.host}/legacy/docker-app:stable`;
    const repository = `${system.registry!.host}/legacy/docker-app`;
    const digest = await system.push('legacy/docker-app', { tag: 'stable', format: 'v2s2' });
    expect(await skopeoMediaType(named)).toBe(DOCKER_MANIFEST);

    // The prefix alone would name formats/schema2, which does not exist.
    await system.apply(webWorkload('schema2', { image: named, imagePrefix: `${system.registry!.host}/formats/` }));
    const image = await system.waitForLatestImage('schema2', `${repository}@${digest}`, { timeoutMs: 60_000 });
    await waitForDeployedImage(system, 'schema2', `${repository}@${digest}`);

    expect(image.spec.image).toBe(named);
    expect(image.status).toMatchObject({ digest, mediaType: DOCKER_MANIFEST, complete: true });
    // The first Workload is untouched by the second.
    expect(await deployedImage(system, 'multiarch')).toMatch(new RegExp(`^${system.registry!.host}/formats/multiarch@sha256:`));
  });
});
