// The RBAC a Workload's ServiceAccount needs, derived from its supply chain: each kind a resource stamps,
// pluralized as Kubernetes does, granted get, create and patch, and nothing else.
import { App, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { DemoWorkload } from '../../charts/demo-workload.js';
import { SupplyChain } from '../../charts/supply-chain.js';
import { apiResourceOf } from '../../charts/workload-rules.js';
import { webServiceSupplyChain } from '../../examples/web-service.js';
import { findOne, type Manifest } from './manifests.js';

const rule = (apiGroup: string, resource: string) => ({ apiGroups: [apiGroup], resources: [resource], verbs: ['get', 'create', 'patch'] });

describe('apiResourceOf', () => {
  it.each([
    ['apps/v1', 'Deployment', 'apps', 'deployments'],
    ['v1', 'Service', '', 'services'],
    ['v1', 'ConfigMap', '', 'configmaps'],
    ['networking.k8s.io/v1', 'Ingress', 'networking.k8s.io', 'ingresses'],
    ['networking.k8s.io/v1', 'NetworkPolicy', 'networking.k8s.io', 'networkpolicies'],
    ['v1', 'Endpoints', '', 'endpoints'],
    ['example.com/v1', 'Image', 'example.com', 'images'],
  ])('%s %s is %s/%s', (apiVersion, kind, apiGroup, resourceType) => {
    expect(apiResourceOf({ apiVersion, kind })).toEqual({ apiGroup, resourceType });
  });
});

describe('workloadRules', () => {
  it("of the seed's chain grant its Deployments and Images", () => {
    expect(new SupplyChain(Testing.app(), 'supply-chain').workloadRules()).toEqual([rule('apps', 'deployments'), rule('example.com', 'images')]);
  });

  it('grant each kind a resource adds, once, in an order that does not depend on the order of the resources', () => {
    const chain = new SupplyChain(Testing.app(), 'web', { name: 'web' });
    new kplus.Service(chain.addResource('service'), 'Service', { ports: [{ port: 80 }] });
    new kplus.ConfigMap(chain.addResource('settings'), 'ConfigMap', { data: { greeting: 'hello' } });
    new kplus.ConfigMap(chain.addResource('more-settings'), 'ConfigMap', { metadata: { name: 'more' }, data: { greeting: 'hi' } });
    expect(chain.workloadRules()).toEqual([rule('', 'configmaps'), rule('', 'services'), rule('apps', 'deployments'), rule('example.com', 'images')]);
  });

  it("take a resource's apiResource over the guess from its kind", () => {
    const chain = new SupplyChain(Testing.app(), 'web', { name: 'web', deployer: false });
    const resource = chain.addResource('cache', { apiResource: kplus.ApiResource.custom({ apiGroup: 'example.org', resourceType: 'caches' }) });
    new kplus.k8s.KubeConfigMap(resource, 'Cache', {});
    expect(chain.workloadRules()).toContainEqual(rule('example.org', 'caches'));
    expect(chain.workloadRules()).not.toContainEqual(rule('', 'configmaps'));
  });
});

describe("DemoWorkload's Role", () => {
  const roleOf = (app: App) => findOne(app.charts.flatMap((chart) => chart.toJson() as Manifest[]), 'Role', 'admin-permissions');

  it("is derived from its chain, and the Workload carries the chain's selector", () => {
    const app = Testing.app();
    const chain = webServiceSupplyChain(app);
    const workload = new DemoWorkload(app, 'hello', { supplyChain: chain, name: 'hello' });
    expect(roleOf(app).rules).toEqual([rule('', 'services'), rule('apps', 'deployments'), rule('example.com', 'images')]);
    expect(findOne(workload.toJson(), 'Workload', 'hello').metadata.labels).toEqual({ 'app.tanzu.vmware.com/workload-type': 'web-service' });
  });

  it('grants a resource added to the chain after the Workload was created', () => {
    const app = Testing.app();
    const chain = new SupplyChain(app, 'web', { name: 'web' });
    new DemoWorkload(app, 'hello', { supplyChain: chain });
    new kplus.ConfigMap(chain.addResource('settings'), 'ConfigMap', { data: { greeting: 'hello' } });
    expect(roleOf(app).rules).toContainEqual(rule('', 'configmaps'));
  });
});
