// The README's customized supply chain (examples/web-service.ts) through real Cartographer: applied beside
// dist/, each Workload labelled `workload-type: web-service` gets its Image, a Deployment running the
// digest the controller resolved, and a Service in front of that Deployment. Two Workloads in one
// namespace show why cdk8s-plus's address label had to go: each Service selects its own Workload's pods
// and not the other's, and that a number param reaches the Deployment as a number. There is no kubelet,
// so the pods stay Pending; the ReplicaSets still create them, and which of them each Service selects is
// what the API server answers.
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { scenarioSystem, waitForDeployedImage } from './scenario.js';
import { webServiceManifests } from './web-service-chain.js';

const NAMESPACE = 'web';
const system = scenarioSystem();

type Json = { [key: string]: any };
const get = async (kind: string, name: string): Promise<Json> =>
  JSON.parse(await system.kubectl(['get', kind, name, '-n', NAMESPACE, '-o', 'json']));
/** Names of the pods a label selector picks in the namespace. */
const podsSelectedBy = async (selector: Record<string, string>): Promise<string[]> => {
  const labels = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
  const names = await system.kubectl(['get', 'pods', '-n', NAMESPACE, '-l', labels, '-o', 'jsonpath={.items[*].metadata.name}']);
  return names.split(' ').filter(Boolean).sort();
};

const digests: Record<string, string> = {};
let prefix = '';

beforeAll(async () => {
  prefix = `${system.registry!.host}/web/`;
  await system.kubectl(['create', 'namespace', NAMESPACE]);
  for (const name of ['hello', 'bye']) digests[name] = await system.push(`web/${name}`);
  const { chain, workload } = webServiceManifests(prefix, NAMESPACE);
  await system.apply(chain);
  for (const object of workload) await system.apply(object);
  // A second Workload like the first, whose own log_level and replicas params override the template's defaults.
  const hello = workload.find((object) => object.kind === 'Workload')!;
  await system.apply({
    ...hello,
    metadata: { ...hello.metadata, name: 'bye' },
    spec: { ...hello.spec, params: [...hello.spec.params, { name: 'log_level', value: 'debug' }, { name: 'replicas', value: 2 }] },
  });
}, 120_000);

describe('the web-service supply chain from examples/', () => {
  it('stamps a Deployment running the digest, with the placeholders filled in for the Workload', async () => {
    await waitForDeployedImage(system, 'hello', `${prefix}hello@${digests.hello}`, { namespace: NAMESPACE, timeoutMs: 60_000 });
    const deployment = await get('deployment', 'hello');
    const [container] = deployment.spec.template.spec.containers;
    expect(container.env).toEqual([
      { name: 'APP_NAME', value: 'hello' },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
    // The number params' whole-field placeholders, $(params.port)$ and $(params.replicas)$, became numbers.
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.selector.matchLabels).toEqual({ 'carto.run/workload-name': 'hello', 'carto.run/resource-name': 'deployer' });
    expect(deployment.metadata.ownerReferences).toContainEqual(expect.objectContaining({ kind: 'Workload', name: 'hello' }));
  });

  it('stamps a Service selecting exactly the Deployment\'s pods', async () => {
    const service = await waitFor('Service web/hello stamped by Cartographer', () => get('service', 'hello'), { timeoutMs: 60_000 });
    const deployment = await get('deployment', 'hello');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]);
    expect(service.metadata.labels).toMatchObject({ 'carto.run/supply-chain-name': 'web-service', 'carto.run/resource-name': 'service' });
    expect(service.metadata.ownerReferences).toContainEqual(expect.objectContaining({ kind: 'Workload', name: 'hello' }));

    const workloadReady = await waitFor('Workload web/hello Ready', async () => {
      const workload = await get('workload', 'hello');
      return workload.status?.conditions?.find((condition: Json) => condition.type === 'Ready')?.status === 'True' && workload;
    }, { timeoutMs: 60_000 });
    expect(workloadReady.status.resources.map((resource: Json) => resource.stampedRef?.kind)).toEqual(['Image', 'Deployment', 'Service']);
  });

  it("keeps a second Workload's Service and pods apart from the first's", async () => {
    await waitForDeployedImage(system, 'bye', `${prefix}bye@${digests.bye}`, { namespace: NAMESPACE, timeoutMs: 60_000 });
    const bye = await get('deployment', 'bye');
    expect(bye.spec.template.spec.containers[0].env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
    expect(bye.spec.replicas).toBe(2);
    const services = {
      hello: (await get('service', 'hello')).spec.selector,
      bye: (await waitFor('Service web/bye', () => get('service', 'bye'), { timeoutMs: 60_000 })).spec.selector,
    };
    expect(services.bye).toEqual({ 'carto.run/workload-name': 'bye', 'carto.run/resource-name': 'deployer' });

    // The ReplicaSets create their Workload's replicas, Pending; each Service selects its own Workload's pods and only those.
    for (const [name, replicas] of [['hello', 1], ['bye', 2]] as const) {
      const pods = await waitFor(`${replicas} pod(s) of Deployment web/${name}`, async () => {
        const selected = await podsSelectedBy(services[name]);
        return selected.length >= replicas && selected;
      }, { timeoutMs: 60_000 });
      expect(pods).toHaveLength(replicas);
      for (const pod of pods) expect(pod).toMatch(new RegExp(`^${name}-[a-z0-9]+-[a-z0-9]+$`));
    }
  });
});
