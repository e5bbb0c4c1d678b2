// addSeedCharts, which main.ts and a user's app call: the seed's four charts in apply order, each
// configurable, and the demo Workload optional. (dist/ is its output with the defaults: snapshots.test.ts.)
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { addSeedCharts } from '../../charts/seed.js';
import { findOne, type Manifest } from './manifests.js';

describe('addSeedCharts', () => {
  it('adds the four charts to the app, each depending on the one before, with the props given', () => {
    const app = Testing.app();
    const { demoWorkload } = addSeedCharts(app, {
      controller: { namespace: 'spring-system' },
      supplyChain: { selector: { team: 'web' } },
    });
    expect(app.charts.map((chart) => chart.node.id)).toEqual(['image-crd', 'image-controller', 'supply-chain', 'demo-workload']);
    const manifests = app.charts.flatMap((chart) => chart.toJson() as Manifest[]);
    expect(findOne(manifests, 'Namespace', 'spring-system')).toBeDefined();
    // The demo Workload follows the chain it was given.
    expect(findOne(demoWorkload!.toJson(), 'Workload', 'demo').metadata.labels).toEqual({ team: 'web' });
  });

  it('leaves the demo Workload out when asked', () => {
    const app = Testing.app();
    expect(addSeedCharts(app, { demoWorkload: false }).demoWorkload).toBeUndefined();
    expect(app.charts.map((chart) => chart.node.id)).toEqual(['image-crd', 'image-controller', 'supply-chain']);
  });
});
