// The mistakes a chain author made silently before: each now fails synthesis with a message that says
// what is wrong and what to change, and its honest neighbour still synthesizes.
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { DemoWorkload } from '../../charts/demo-workload.js';
import { addSeedCharts } from '../../charts/seed.js';
import { SupplyChain } from '../../charts/supply-chain.js';
import { webServiceSupplyChain } from '../../examples/web-service.js';
import { Workload } from '../../imports/carto.run.js';

/** The validation errors of synthesizing the app, one per line; [] when it synthesizes. */
function synthErrors(app: App): string[] {
  try {
    app.synthYaml();
    return [];
  } catch (error) {
    return String(error).split('\n').slice(1).map((line) => line.trim());
  }
}

/** An app with the seed's four charts, as main.ts builds it. */
function seedApp(): App {
  const app = Testing.app();
  addSeedCharts(app);
  return app;
}

describe('two charts writing one name', () => {
  it("fails for a second chain whose templates take the seed's default names", () => {
    const app = seedApp();
    const chain = new SupplyChain(app, 'web', { name: 'web', selector: { team: 'web' }, defaultImagePrefix: 'ghcr.io/acme/', deployer: false });
    new kplus.Service(chain.addResource('deployment'), 'Service', { ports: [{ port: 80 }] });
    expect(synthErrors(app)).toEqual([
      '[web] ClusterImageTemplate "image" is written by charts "supply-chain" and "web", with different contents: applied together, ' +
        'the later replaces the earlier and breaks what relies on it; give one of them another name (SupplyChain imageTemplateName)',
      '[web] ClusterTemplate "deployment" is written by charts "supply-chain" and "web", with different contents: applied together, ' +
        'the later replaces the earlier and breaks what relies on it; give one of them another name (templateName of resource "deployment")',
    ]);
  });

  it("fails for a second chain with the seed's chain name", () => {
    const app = seedApp();
    new SupplyChain(app, 'web', { selector: { team: 'web' }, imageTemplateName: 'web-image', deploymentTemplateName: 'web-deployment' });
    expect(synthErrors(app)).toEqual([
      '[web] ClusterSupplyChain "supply-chain" is written by charts "supply-chain" and "web", with different contents: applied together, ' +
        'the later replaces the earlier and breaks what relies on it; give one of them another name (SupplyChain name)',
    ]);
  });

  it('fails for two resources of one chain naming the same template', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false });
    new kplus.ConfigMap(chain.addResource('settings', { templateName: 'config' }), 'ConfigMap', { data: { a: '1' } });
    new kplus.ConfigMap(chain.addResource('more', { templateName: 'config' }), 'ConfigMap', { metadata: { name: `more` }, data: { b: '2' } });
    expect(synthErrors(app)).toEqual([
      '[web] ClusterTemplate "config" is written by chart "web" twice, with different contents: applied together, the later replaces ' +
        'the earlier and breaks what relies on it; give one of them another name (templateName of resource "more")',
    ]);
  });

  it("fails for namespaced objects too: two Workloads' Roles for different chains under one name", () => {
    const app = seedApp();
    new DemoWorkload(app, 'web-workload', { supplyChain: webServiceSupplyChain(app), name: 'web' });
    expect(synthErrors(app)).toEqual([
      // Which of the two Roles the ServiceAccount ends up with depends on the order of apply; the first lacks Services.
      expect.stringContaining('[web-service] Workload "web" in namespace "default" is stamped by supply chain "web-service" as ServiceAccount "admin", whose Role "admin-permissions" does not allow'),
      '[web-workload] Role "admin-permissions" in namespace "default" is written by charts "demo-workload" and "web-workload", with different ' +
        'contents: applied together, the later replaces the earlier and breaks what relies on it; give one of them another name',
    ]);
  });

  it('passes when both write the same object, or the same name in two namespaces', () => {
    const app = seedApp();
    // The same chain twice, and a second Workload sharing the first one's ServiceAccount and Role.
    new SupplyChain(app, 'again');
    new DemoWorkload(app, 'second-workload', { name: 'second' });
    new DemoWorkload(app, 'elsewhere', { namespace: 'elsewhere' });
    expect(synthErrors(app)).toEqual([]);
  });
});

describe('an object outside a resource', () => {
  it("fails when a cdk8s-plus object is created on the chain instead of a resource's scope", () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false });
    const deployer = chain.addResource('deployer', { images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app }] });
    new kplus.Service(chain, 'Service', { ports: [{ port: 80 }] });
    expect(synthErrors(app)).toEqual([
      '[web] supply chain "web" holds a Service outside its resources (web/Service/Resource), which would be written once, as it is, ' +
        "instead of stamped for each Workload: create it in a resource's scope, e.g. `new kplus.Deployment(chain.addResource('deployer'), …)`",
    ]);
  });
});

describe("a Workload's ServiceAccount", () => {
  it('fails when its Role lacks a kind the chain that selects the Workload stamps', () => {
    const app = Testing.app();
    const chain = webServiceSupplyChain(app);
    // Labelled for the web-service chain, but with the Role of the seed's chain (Deployments and Images).
    new DemoWorkload(app, 'hello', { name: 'hello', labels: { ...chain.selector } });
    expect(synthErrors(app)).toEqual([
      '[web-service] Workload "hello" in namespace "default" is stamped by supply chain "web-service" as ServiceAccount "admin", whose ' +
        'Role "admin-permissions" does not allow get, create, patch on services: Cartographer would be refused when it stamps them; ' +
        'grant supplyChain.workloadRules() (DemoWorkload does for its supplyChain)',
    ]);
  });

  it('fails for a Workload, ClusterRole and binding written by hand, and passes once the role grants the kind', () => {
    const build = (grant: { resources: string[] } | 'elsewhere') => {
      const app = Testing.app();
      const chain = new SupplyChain(app, 'web', { name: 'web', selector: { team: 'a' }, deployer: false });
      new kplus.ConfigMap(chain.addResource('settings'), 'ConfigMap', { data: { greeting: 'hello' } });
      const team = new Chart(app, 'team');
      new Workload(team, 'Workload', { metadata: { name: 'hello', namespace: 'team', labels: { team: 'a' } }, spec: { serviceAccountName: 'builder' } });
      if (grant === 'elsewhere') return app;
      new kplus.k8s.KubeClusterRole(team, 'Role', { metadata: { name: 'stamper' }, rules: [{ apiGroups: ['', 'example.com'], resources: grant.resources, verbs: ['*'] }] });
      new kplus.k8s.KubeRoleBinding(team, 'Binding', {
        metadata: { name: 'stamper', namespace: 'team' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'stamper' },
        subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: 'team' }],
      });
      return app;
    };
    expect(synthErrors(build({ resources: ['images'] }))).toEqual([
      '[web] Workload "hello" in namespace "team" is stamped by supply chain "web" as ServiceAccount "builder", whose ClusterRole "stamper" ' +
        'does not allow get, create, patch on configmaps: Cartographer would be refused when it stamps them; grant supplyChain.workloadRules() ' +
        '(DemoWorkload does for its supplyChain)',
    ]);
    expect(synthErrors(build({ resources: ['images', 'configmaps'] }))).toEqual([]);
    expect(synthErrors(build({ resources: ['*'] }))).toEqual([]);
    // A ServiceAccount the app binds no role to is granted elsewhere, which synthesis cannot see.
    expect(synthErrors(build('elsewhere'))).toEqual([]);
  });

  it('is granted what its chain stamps when the Role is derived from the chain', () => {
    const app = Testing.app();
    new DemoWorkload(app, 'hello', { supplyChain: webServiceSupplyChain(app), name: 'hello' });
    expect(synthErrors(app)).toEqual([]);
  });
});

describe('number placeholders', () => {
  it('fail synthesis when a string placeholder goes through Number()', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false });
    const deployer = chain.addResource('deployer', { params: { replicas: '1' }, images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { replicas: Number(deployer.params.replicas), containers: [{ image: deployer.images.app }] });
    expect(synthErrors(app)).toEqual([
      '[web] ClusterTemplate "deployer" (resource "deployer") holds the number NaN, which no placeholder can become: Cartographer substitutes ' +
        'a number placeholder as it stands, so compute nothing from it and do not Number() a string placeholder; declare the param with a ' +
        'number default and use it as it is',
    ]);
  });

  it('fail synthesis when a number is computed from one', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false });
    const deployer = chain.addResource('deployer', { params: { replicas: 1 }, images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { replicas: deployer.params.replicas * 2, containers: [{ image: deployer.images.app }] });
    expect(synthErrors(app)).toEqual([expect.stringMatching(/^\[web\] ClusterTemplate "deployer" \(resource "deployer"\) holds the number \d{17}, which no placeholder can become/)]);
  });
});

describe('chain params', () => {
  it('fail synthesis when a resource declares one again, whose default Cartographer would never use', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false, params: { port: 8080 } });
    const service = chain.addResource('service', { params: { port: 80 } });
    new kplus.Service(service, 'Service', { ports: [{ port: service.params.port }] });
    expect(synthErrors(app)).toEqual([
      '[web] resource "service" of supply chain "web" declares param(s) port, which the chain declares too: Cartographer uses the ' +
        "chain's default, never the resource's; declare each once",
    ]);
  });
});

describe('two chains with one selector', () => {
  it('fail synthesis: Cartographer stamps a Workload that two chains select with neither', () => {
    const app = seedApp();
    new SupplyChain(app, 'web', { name: 'web', imageTemplateName: 'web-image', deploymentTemplateName: 'web-deployment' });
    expect(synthErrors(app)).toEqual([
      '[web] supply chain "web" and supply chain "supply-chain" have the same selector, so Cartographer stamps neither for the Workloads ' +
        'they select (MultipleSupplyChainMatches): give one of them a selector of its own',
    ]);
  });
});

describe('a ytt resource', () => {
  it('fails synthesis unless it says what it stamps, which the Workload must be granted', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web', deployer: false });
    chain.addResource('config', { ytt: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: #@ data.values.workload.metadata.name\n' });
    expect(synthErrors(app)).toEqual([
      '[web] resource "config" of supply chain "web" has a ytt template, so what it stamps cannot be read: set its apiResource, which workloadRules() grants',
    ]);
  });
});
