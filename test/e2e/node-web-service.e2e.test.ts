// The README's customized supply chain (examples/web-service.ts) on a real node: a Workload labelled
// `workload-type: web-service` gets a Deployment whose Pod runs the digest the controller resolved, and a
// client Pod reaches that app through the Service the chain stamped, by its ClusterIP (kube-proxy; there
// is no cluster DNS). The client is busybox's wget bounded by busybox's `timeout`: Debian's static busybox
// is built without wget's -T, and `wget -T` there dereferences NULL while parsing its options (exit 139).
import { beforeAll, describe, expect, it } from 'vitest';
import { SEED_REGISTRY } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { describePod, nodeSystem, waitForOnlyPodRunning } from './node-pods.js';
import { webServiceManifests } from './web-service-chain.js';

const NAMESPACE = 'web';
const system = nodeSystem();
let digest = '';

beforeAll(async () => {
  await system.kubectl(['create', 'namespace', NAMESPACE]);
  digest = await system.push('web/hello');
  const { chain, workload } = webServiceManifests(`${SEED_REGISTRY}/web/`, NAMESPACE);
  await system.apply(chain);
  for (const object of workload) await system.apply(object);
}, 120_000);

describe('the web-service supply chain from examples/ on a node', () => {
  it("a client Pod gets the app's answer through the Service the chain stamped", async () => {
    const app = await waitForOnlyPodRunning(system, 'carto.run/workload-name=hello', `${SEED_REGISTRY}/web/hello@${digest}`, {
      namespace: NAMESPACE,
      timeoutMs: 120_000,
    });
    console.log(`app: ${describePod(app)}`);
    // Each pushed image has a file of its own; the app serves it over HTTP on 8080.
    const expected = await system.kubectl(['exec', '-n', NAMESPACE, app.name, '--', '/busybox', 'cat', '/unique.txt']);
    const service = JSON.parse(await system.kubectl(['get', 'service', 'hello', '-n', NAMESPACE, '-o', 'json']));
    expect(service.metadata.labels).toMatchObject({ 'carto.run/workload-name': 'hello', 'carto.run/resource-name': 'service' });
    const url = `http://${service.spec.clusterIP}:${service.spec.ports[0].port}/unique.txt`;

    // The app's own image holds busybox: the client runs it with another command.
    await system.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: NAMESPACE },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'wget', image: `${SEED_REGISTRY}/web/hello@${digest}`, command: ['/busybox', 'timeout', '20', '/busybox', 'wget', '-q', '-O', '-', url] }],
      },
    });
    const phase = await waitFor(
      'Pod web/client finished',
      async () => {
        const current = await system.kubectl(['get', 'pod', 'client', '-n', NAMESPACE, '-o', 'jsonpath={.status.phase}']);
        return ['Succeeded', 'Failed'].includes(current) && current;
      },
      { timeoutMs: 60_000 },
    );
    const answer = await system.kubectl(['logs', 'client', '-n', NAMESPACE]);
    console.log(`client: wget ${url} → ${phase}: ${answer.trim()}`);
    expect(phase).toBe('Succeeded');
    expect(answer).toBe(expected);
  });
});
