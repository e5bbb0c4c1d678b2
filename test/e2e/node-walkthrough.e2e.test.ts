// Node scenarios 1, 6 and 4. The README's kind walkthrough, step by step, on a real node: the cluster,
// `npm run image` building controller/Dockerfile (docker is podman here), the demo app pushed, Cartographer,
// `kubectl apply -f dist/` and the waits, the tag moved, and the upgrade's rebuild and restart; each command
// as written unless it needs what this machine has not (test/e2e/walkthrough.ts says which, and why). The
// controller Pod runs the digest that was built, on Node 24. Then what runs is what dist/ says: uid 65532,
// a read-only root filesystem, the synthesized ClusterRole. And a multi-arch OCI index is deployed by its
// index digest, and the node runs its linux/amd64 image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImages } from '../support/controller-image.js';
import { NODE_NAME } from '../support/node.js';
import { OCI_INDEX, skopeoMediaType } from '../support/oci.js';
import { run } from '../support/processes.js';
import { SEED_REGISTRY } from '../support/supply-chain-system.js';
import { controllerPods, nodeInPod, nodeSystem, waitForOnlyPodRunning } from './node-pods.js';
import { waitForDeployedImage, webWorkload } from './scenario.js';
import { DEMO_APP_STAND_INS, runStep, WALKTHROUGH, type Walkthrough } from './walkthrough.js';

// The Dockerfile's base images, before the clock of any step starts (minutes the first time on a machine).
beforeAll(() => ensureBaseImages(), 900_000);
const system = nodeSystem({ clusterOnly: true });
const walkthrough: Walkthrough = { system, demoDigests: [], controllerPod: '' };
afterAll(() => run('podman', ['rmi', '--ignore', ...DEMO_APP_STAND_INS, `${SEED_REGISTRY}/apps/demo`]));

describe("the README's kind walkthrough, step by step", () => {
  let failed = false;
  for (const [index, step] of WALKTHROUGH.entries()) {
    it(`${index + 1}. $ ${step.command}`, async (context) => {
      // A step after a failed one would only fail for the same reason.
      if (failed) context.skip();
      failed = true;
      await runStep(walkthrough, step);
      failed = false;
    }, 600_000);
  }

  it('left the controller in a namespace enforcing the restricted Pod Security Standard', async () => {
    console.log(`kubelet ${await system.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.nodeInfo.kubeletVersion}'])}`);
    const namespaceLabels = JSON.parse(await system.kubectl(['get', 'namespace', system.identity.namespace, '-o', 'jsonpath={.metadata.labels}']));
    expect(namespaceLabels['pod-security.kubernetes.io/enforce']).toBe('restricted');
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
