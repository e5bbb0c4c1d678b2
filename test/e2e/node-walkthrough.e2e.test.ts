// Node scenarios 1, 6 and 4. The seed's walkthrough, whole, on a real node: `kubectl apply -f dist/`
// unchanged, the controller runs as the Pod dist/ deploys (Ready in its restricted namespace), the demo
// Workload's Pod runs localhost:5000/apps/demo@A; push B and a Pod running B replaces it. What runs is
// what dist/ says: uid 65532, a read-only root filesystem, the synthesized ClusterRole. And a multi-arch
// OCI index is deployed by its index digest, and the node runs its linux/amd64 image.
import { describe, expect, it } from 'vitest';
import { NODE_NAME } from '../support/node.js';
import { OCI_INDEX, skopeoMediaType } from '../support/oci.js';
import { SEED_REGISTRY } from '../support/supply-chain-system.js';
import { controllerPods, describePod, nodeInPod, nodeSystem, waitForOnlyPodRunning } from './node-pods.js';
import { waitForDeployedImage, webWorkload } from './scenario.js';

const system = nodeSystem();
const DEMO = 'app=demo';

describe("the seed's walkthrough on a node", () => {
  it("the controller is dist/'s Deployment's Pod, from localhost:5000/apps/controller, Ready in a namespace enforcing restricted", async () => {
    console.log(`kubelet ${await system.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.nodeInfo.kubeletVersion}'])}`);
    const namespaceLabels = JSON.parse(await system.kubectl(['get', 'namespace', system.identity.namespace, '-o', 'jsonpath={.metadata.labels}']));
    expect(namespaceLabels['pod-security.kubernetes.io/enforce']).toBe('restricted');

    const [controller, ...others] = await controllerPods(system);
    expect(others).toEqual([]);
    expect(controller).toMatchObject({ phase: 'Running', ready: true, image: `${SEED_REGISTRY}/apps/controller:latest` });
    expect(controller.imageId).toBe(`${SEED_REGISTRY}/apps/controller@${system.controllerImageDigest}`);
  });

  it('the demo Workload runs localhost:5000/apps/demo@A; after a push of B a Pod running B is Ready and the Pod of A is gone', async () => {
    const digestA = await system.push('apps/demo');
    const podA = await waitForOnlyPodRunning(system, DEMO, `${SEED_REGISTRY}/apps/demo@${digestA}`, { timeoutMs: 90_000 });
    console.log(`A: ${describePod(podA)}`);

    const digestB = await system.push('apps/demo');
    expect(digestB).not.toBe(digestA);
    const pushedAt = Date.now();
    const podB = await waitForOnlyPodRunning(system, DEMO, `${SEED_REGISTRY}/apps/demo@${digestB}`, { timeoutMs: 60_000 });
    console.log(`B: ${describePod(podB)} (push → the only demo Pod Ready on B in ${Date.now() - pushedAt} ms, polling every 10 s)`);

    expect(podB.name).not.toBe(podA.name);
    expect(podB.phase).toBe('Running');
    console.log(await system.kubectl(['get', 'pods,deployments,replicasets', '-l', DEMO]));
    console.log(await system.kubectl(['get', 'images.example.com,workloads.carto.run']));
  });
});

describe('what runs is what dist/ says', () => {
  it('the controller runs as 65532 and cannot write its root filesystem', async () => {
    const [controller] = await controllerPods(system);
    const ids = await nodeInPod(system, controller.name, 'console.log(process.getuid(), process.getgid())');
    expect(ids.trim()).toBe('65532 65532');

    const write = await nodeInPod(
      system,
      controller.name,
      "try { require('node:fs').writeFileSync('/app/written', 'x'); console.log('written') } catch (error) { console.log(error.code) }",
    );
    expect(write.trim()).toBe('EROFS');
  });

  it("the Pod's in-cluster identity has the ClusterRole dist/ synthesizes: Images listed, Secrets not", async () => {
    const [controller] = await controllerPods(system);
    // The Pod's own token and CA, as in-cluster config reads them, against the `kubernetes` Service.
    const status = (path: string) =>
      nodeInPod(
        system,
        controller.name,
        `const fs = require('node:fs'); const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
         require('node:https').get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: '${path}',
           ca: fs.readFileSync(dir + '/ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(dir + '/token', 'utf8') } },
           (response) => { console.log(response.statusCode); response.resume(); })`,
      );
    expect((await status('/apis/example.com/v1/images')).trim()).toBe('200');
    expect((await status('/api/v1/secrets')).trim()).toBe('403');
    const serviceAccount = await system.kubectl(['get', 'pod', controller.name, '-n', system.identity.namespace, '-o', 'jsonpath={.spec.serviceAccountName}']);
    expect(serviceAccount).toBe(system.identity.serviceAccount);
  });
});

describe('a multi-arch OCI index on the node', () => {
  it('the Deployment names the index digest, and the Pod runs the linux/amd64 image of it', async () => {
    const indexDigest = await system.push('formats/multiarch', { multiArch: true, format: 'oci' });
    expect(await skopeoMediaType(`${system.registry!.host}/formats/multiarch:latest`)).toBe(OCI_INDEX);
    const reference = `${SEED_REGISTRY}/formats/multiarch@${indexDigest}`;

    await system.apply(webWorkload('multiarch', { imagePrefix: `${SEED_REGISTRY}/formats/` }));
    await waitForDeployedImage(system, 'multiarch', reference, { timeoutMs: 60_000 });
    const pod = await waitForOnlyPodRunning(system, 'app=multiarch', reference);

    // Each platform's image has its own /unique.txt, `<uuid> <architecture>`.
    const unique = await system.kubectl(['exec', pod.name, '--', '/busybox', 'cat', '/unique.txt']);
    expect(unique).toMatch(/^[0-9a-f-]{36} amd64\n$/);
  });
});
