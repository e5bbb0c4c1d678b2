// A readable YAML snapshot of each chart with its defaults (regenerate with `npx vitest run -u`),
// and the committed dist/ compared byte for byte with a fresh `cdk8s synth`.
import { Chart, Testing, Yaml } from 'cdk8s';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DemoWorkload } from '../../charts/demo-workload.js';
import { ImageController } from '../../charts/image-controller.js';
import { ImageCrd } from '../../charts/image-crd.js';
import { SupplyChain } from '../../charts/supply-chain.js';
import { parseManifests, readManifests, repoRoot, synthesize } from './manifests.js';

const charts: Record<string, (app: ReturnType<typeof Testing.app>) => Chart> = {
  'image-crd': (app) => new ImageCrd(app, 'image-crd'),
  'image-controller': (app) => new ImageController(app, 'image-controller'),
  'supply-chain': (app) => new SupplyChain(app, 'supply-chain'),
  'demo-workload': (app) => new DemoWorkload(app, 'demo-workload'),
};

describe('chart snapshots', () => {
  for (const [name, build] of Object.entries(charts)) {
    it(`${name} with its defaults`, async () => {
      const chart = build(Testing.app());
      await expect(Yaml.stringify(...Testing.synth(chart))).toMatchFileSnapshot(`__snapshots__/${name}.yaml`);
    });
  }
});

describe('dist/', () => {
  it('is what `npx cdk8s synth` writes today (run it and commit dist/ when this fails)', async () => {
    const fresh = await synthesize();
    const committed = await readManifests(join(repoRoot, 'dist'));
    expect([...committed.files.keys()]).toEqual([...fresh.files.keys()]);
    for (const [name, text] of fresh.files) {
      expect(committed.files.get(name), `dist/${name}`).toBe(text);
    }
  }, 120_000);

  it('is laid out in apply order: the CRD alone in the first file, then controller, supply chain, workload', async () => {
    const { files, manifests } = await readManifests(join(repoRoot, 'dist'));
    expect([...files.keys()]).toEqual([
      '0000-image-crd.k8s.yaml',
      '0001-image-controller.k8s.yaml',
      '0002-supply-chain.k8s.yaml',
      '0003-demo-workload.k8s.yaml',
    ]);
    expect(manifests[0]).toMatchObject({ kind: 'CustomResourceDefinition', metadata: { name: 'images.example.com' } });
    expect(parseManifests(files.get('0000-image-crd.k8s.yaml')!)).toHaveLength(1);
  });
});
