/**
 * The README's customized supply chain (examples/web-service.ts) and a Workload it selects, as the
 * web-service scenarios apply them: the chain beside dist/'s, and a Workload `hello` in its own namespace
 * with a ServiceAccount whose Role the chain derives: it may stamp what the chain stamps, and nothing else.
 */
import { Testing } from 'cdk8s';
import { DemoWorkload } from '../../charts/demo-workload.js';
import { webServiceSupplyChain } from '../../examples/web-service.js';
import { parseManifests, type Manifest } from '../charts/manifests.js';

/** The chain's YAML, and the objects of Workload `hello` (ServiceAccount, RBAC, Workload) in `namespace`. */
export function webServiceManifests(imagePrefix: string, namespace: string): { chain: string; workload: Manifest[] } {
  const chainApp = Testing.app();
  const supplyChain = webServiceSupplyChain(chainApp);
  const workloadApp = Testing.app();
  new DemoWorkload(workloadApp, 'hello', { supplyChain, namespace, name: 'hello', imagePrefix });
  return { chain: chainApp.synthYaml(), workload: parseManifests(workloadApp.synthYaml()) };
}
