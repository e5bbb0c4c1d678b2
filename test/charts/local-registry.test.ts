// One registry address end to end: addSeedCharts' `registry` (main.ts) puts it in dist/, and `npm run image`
// pushes the image dist/'s Deployment runs (scripts/dist-controller-image.mjs reads it from there), as
// scripts/kind-with-registry.sh runs the registry where dist/ says (kind-with-registry.test.ts).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing } from 'cdk8s';
import { expect, it } from 'vitest';
import { LOCAL_REGISTRY } from '../../charts/local-registry.js';
import { addSeedCharts } from '../../charts/seed.js';
import { findOne, readManifests, repoRoot, type Manifest } from './manifests.js';

it("`npm run image` builds controller/Dockerfile from the repository root and pushes the image dist/'s Deployment runs", async () => {
  const { manifests } = await readManifests(join(repoRoot, 'dist'));
  const image = findOne(manifests, 'Deployment', 'image-controller').spec.template.spec.containers[0].image;
  expect(image).toBe(`${LOCAL_REGISTRY}/apps/controller:latest`);

  // A `docker` that only says what it was asked to do.
  const bin = mkdtempSync(join(tmpdir(), 'fake-docker-'));
  try {
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $* (in $PWD)" >> "${bin}/calls"\n`);
    chmodSync(join(bin, 'docker'), 0o755);
    await promisify(execFile)('npm', ['run', '--silent', 'image'], { cwd: repoRoot, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n')).toEqual([
      `docker build -t ${image} -f controller/Dockerfile . (in ${repoRoot.replace(/\/$/, '')})`,
      `docker push ${image} (in ${repoRoot.replace(/\/$/, '')})`,
    ]);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}, 60_000);

it("addSeedCharts' registry moves every image and image prefix of the seed's cluster", () => {
  const app = Testing.app();
  addSeedCharts(app, { registry: 'localhost:5001' });
  const manifests = app.charts.flatMap((chart) => chart.toJson() as Manifest[]);
  const text = JSON.stringify(manifests);
  expect(text).not.toContain(LOCAL_REGISTRY);
  expect(findOne(manifests, 'Deployment', 'image-controller').spec.template.spec.containers[0].image).toBe('localhost:5001/apps/controller:latest');
  expect(findOne(manifests, 'ClusterImageTemplate', 'image').spec.params).toContainEqual({ name: 'image_prefix', default: 'localhost:5001/apps/' });
  expect(findOne(manifests, 'Workload', 'demo').spec.params).toContainEqual({ name: 'image_prefix', value: 'localhost:5001/apps/' });
});
