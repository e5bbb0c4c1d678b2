/**
 * The README's kind walkthrough as the node test runs it: every `$ ` command of "Try it on kind" but
 * Troubleshooting's, in the README's order. A command runs as written, in a shell in the repository
 * root, with `docker` being podman (test/support/docker-podman) and `kubectl` talking to the test's
 * cluster. A command that needs what the test machine has not (kind and Docker, Docker Hub, the
 * internet) has a stand-in that does the same to the cluster, and says why. test/charts/readme.test.ts
 * fails when these commands and the README's drift apart.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { IMAGE_CONTROLLER_DEFAULTS } from '../../charts/image-controller.js';
import { appsPrefix, CONTROLLER_REPOSITORY } from '../../charts/local-registry.js';
import { dockerShimEnv } from '../support/controller-image.js';
import { NODE_IP } from '../support/node.js';
import { skopeoDigest, writeImageLayout } from '../support/oci.js';
import { run } from '../support/processes.js';
import { repoRoot, SEED_REGISTRY, type SupplyChainSystem } from '../support/supply-chain-system.js';
import { controllerMetrics, controllerPods, describePod, waitForOnlyPodRunning } from './node-pods.js';
import { metricValue } from './scenario.js';

export interface Walkthrough {
  system: SupplyChainSystem;
  /** What each `docker push localhost:5000/apps/demo` pushed, in order. */
  demoDigests: string[];
  /** The controller Pod the last rollout left running. */
  controllerPod: string;
}

export interface WalkthroughStep {
  /** The command as the README shows it, after `$ `. */
  command: string;
  /** Why the command cannot run here, and what the test does instead. */
  standIn?: { because: string; run(walkthrough: Walkthrough): Promise<void> };
  /** What the test checks once the command has run, given its output. */
  check?(walkthrough: Walkthrough, output: string): Promise<void>;
}

/** The demo app, as `docker pull` would put it in local storage: a busybox HTTP server stands in for nginx. */
export const DEMO_APP_STAND_INS = ['docker.io/library/nginx:stable-alpine', 'docker.io/library/nginx:alpine'];
const DEMO_IMAGE = `${appsPrefix(SEED_REGISTRY)}demo`;
const CONTROLLER_IMAGE = `${SEED_REGISTRY}/${CONTROLLER_REPOSITORY}`;
const CONTROLLER_ROLLOUT = 'kubectl rollout status -n image-controller-system deployment/image-controller --timeout=3m';

const alreadyInstalled = {
  because: 'the test runs in this checkout, whose dependencies are installed (a second `npm ci` would replace the running test runner)',
  run: async () => undefined,
};

export const WALKTHROUGH: WalkthroughStep[] = [
  {
    command: 'scripts/kind-with-registry.sh',
    standIn: {
      because:
        'no Docker or kind here: the test started its own cluster, one real node (kubelet, containerd) in a network namespace, ' +
        'with the registry on localhost:5000 and kube-public/local-registry-hosting as the script writes them',
      run: async () => undefined,
    },
  },
  { command: 'curl localhost:5000/v2/', check: async (_, output) => expect(output.trim()).toBe('{}') },
  { command: 'npm ci', standIn: alreadyInstalled },
  { command: 'npm run image', check: checkControllerImagePushed },
  { command: 'docker pull nginx:stable-alpine', standIn: demoAppStandIn(DEMO_APP_STAND_INS[0]) },
  { command: 'docker tag nginx:stable-alpine localhost:5000/apps/demo' },
  { command: 'docker push localhost:5000/apps/demo', check: recordDemoPush },
  {
    command: 'kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml',
    standIn: { because: 'no internet here; only Cartographer\'s webhook needs cert-manager, and the test runs Cartographer without webhooks', run: async () => undefined },
  },
  {
    command: 'kubectl wait --for=condition=Available --timeout=5m -n cert-manager deployment --all',
    standIn: { because: 'cert-manager is not installed (above)', run: async () => undefined },
  },
  { command: 'kubectl create namespace cartographer-system' },
  {
    command: 'kubectl apply -f https://github.com/vmware-tanzu/cartographer/releases/download/v0.8.11/cartographer.yaml',
    standIn: {
      because: 'no internet here: Cartographer v0.8.11 built from its Go module runs as a process under its ServiceAccount token, with the CRDs and RBAC of its release',
      run: ({ system }) => system.controlPlane.startCartographer(),
    },
  },
  {
    command: 'kubectl wait --for=condition=Available --timeout=5m -n cartographer-system deployment --all',
    standIn: { because: 'Cartographer is a process, not a Deployment: the step above returned once its controllers logged "Starting workers"', run: async () => undefined },
  },
  { command: 'kubectl apply -f dist/' },
  { command: CONTROLLER_ROLLOUT, check: checkControllerPodRunsBuiltImage },
  { command: 'kubectl wait --for=condition=Ready --timeout=3m workload/demo' },
  {
    command: 'kubectl rollout status deployment/demo --timeout=3m',
    check: async ({ system, demoDigests }) => {
      const pod = await waitForOnlyPodRunning(system, 'app=demo', `${DEMO_IMAGE}@${demoDigests[0]}`);
      console.log(`demo: ${describePod(pod)}`);
    },
  },
  { command: 'kubectl get images', check: async ({ demoDigests }, output) => expect(output).toContain(`${DEMO_IMAGE}@${demoDigests[0]}`) },
  { command: 'docker pull nginx:alpine', standIn: demoAppStandIn(DEMO_APP_STAND_INS[1]) },
  { command: 'docker tag nginx:alpine localhost:5000/apps/demo' },
  { command: 'docker push localhost:5000/apps/demo', check: recordDemoPush },
  {
    command: 'kubectl get replicasets -l app=demo --watch',
    standIn: {
      because: 'a watch ends only with Ctrl-C: the test waits until the only demo Pod runs the new digest, then lists the ReplicaSets once',
      run: async ({ system, demoDigests }) => {
        const pushedAt = Date.now();
        const pod = await waitForOnlyPodRunning(system, 'app=demo', `${DEMO_IMAGE}@${demoDigests[1]}`, { timeoutMs: 60_000 });
        console.log(`demo: ${describePod(pod)} (the only demo Pod Ready on the new digest ${Date.now() - pushedAt} ms after the push step, polling every 10 s)`);
        console.log(await system.kubectl(['get', 'replicasets', '-l', 'app=demo']));
      },
    },
  },
  {
    command: 'scripts/kind-with-registry.sh --notifications',
    standIn: {
      because:
        "no Docker or kind here: the test does to its cluster what the script does to kind's: reads the controller " +
        "Service's node port, keeps a new token in the controller's Secret, restarts the registry (what it stores kept) " +
        'with a notification endpoint on the node and that port, and restarts the controller to read the token',
      run: notifyTheController,
    },
  },
  { command: CONTROLLER_ROLLOUT, check: checkControllerPodRunsBuiltImage },
  { command: 'docker tag nginx:stable-alpine localhost:5000/apps/demo' },
  { command: 'docker push localhost:5000/apps/demo', check: recordDemoPush },
  {
    command: 'kubectl get pods -l app=demo --watch',
    standIn: {
      because: "a watch ends only with Ctrl-C: the test waits until the only demo Pod runs the digest pushed back, and checks that the controller accepted the registry's notification",
      run: async ({ system, demoDigests, controllerPod }) => {
        const pushedAt = Date.now();
        const pod = await waitForOnlyPodRunning(system, 'app=demo', `${DEMO_IMAGE}@${demoDigests[2]}`, { timeoutMs: 60_000 });
        console.log(`demo: ${describePod(pod)} (the only demo Pod Ready on the digest pushed back ${Date.now() - pushedAt} ms after the push step)`);
        const accepted = metricValue(await controllerMetrics(system, controllerPod), 'image_controller_notifications_total', { result: 'accepted' });
        expect(accepted).toBeGreaterThan(0);
      },
    },
  },
  { command: 'npm ci', standIn: alreadyInstalled },
  { command: 'npm run image', check: checkControllerImagePushed },
  { command: 'kubectl apply -f dist/' },
  { command: 'kubectl rollout restart -n image-controller-system deployment/image-controller' },
  {
    command: CONTROLLER_ROLLOUT,
    check: async (walkthrough) => {
      const before = walkthrough.controllerPod;
      await checkControllerPodRunsBuiltImage(walkthrough);
      expect(walkthrough.controllerPod).not.toBe(before);
    },
  },
];

/**
 * The README's walkthrough commands: each `$ ` line of a code block from "## Try it on kind" to the
 * next `## ` heading, leaving out the "### Troubleshooting" subsection (commands to look with, not steps).
 */
export function readmeWalkthroughCommands(readme: string): string[] {
  const section = /^## Try it on kind\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const withoutTroubleshooting = section.replace(/^### Troubleshooting\n[\s\S]*?(?=^### )/m, '');
  return [...withoutTroubleshooting.matchAll(/^```\n([\s\S]*?)^```$/gm)]
    .flatMap(([, block]) => block.split('\n'))
    .filter((line) => line.startsWith('$ '))
    .map((line) => line.slice(2));
}

/** Runs one step: the command as written, or its stand-in; then its check. */
export async function runStep(walkthrough: Walkthrough, step: WalkthroughStep): Promise<void> {
  let output = '';
  if (step.standIn) {
    console.log(`$ ${step.command}\n  (stand-in: ${step.standIn.because})`);
    await step.standIn.run(walkthrough);
  } else {
    output = await run('bash', ['-c', step.command], { cwd: repoRoot, env: walkthroughEnv(walkthrough.system) });
    console.log(`$ ${step.command}\n${output}`);
  }
  await step.check?.(walkthrough, output);
}

/** A user's shell pointed at the test's cluster: the test's kubectl and the docker shim first on PATH, its admin kubeconfig. */
function walkthroughEnv(system: SupplyChainSystem): NodeJS.ProcessEnv {
  const env = dockerShimEnv();
  const kubectl = system.controlPlane.assets!.binaries.kubectl;
  return { ...env, PATH: `${dirname(kubectl)}:${env.PATH}`, KUBECONFIG: system.controlPlane.kubeconfig };
}

/** Puts a runnable image (busybox serving HTTP, unique content) into podman's storage as `name`. */
function demoAppStandIn(name: string): NonNullable<WalkthroughStep['standIn']> {
  return {
    because: `Docker Hub is out of reach: a busybox HTTP server image, with content of its own, is put into podman's storage as ${name}`,
    run: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'e2e-demo-app-'));
      try {
        const layout = await writeImageLayout(join(dir, randomBytes(4).toString('hex')), { runnable: true });
        await run('skopeo', ['copy', '--quiet', layout.source, `containers-storage:${name}`]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** What `scripts/kind-with-registry.sh --notifications` does, to the test's cluster and registry. */
async function notifyTheController({ system }: Walkthrough): Promise<void> {
  const { namespace, service, deployment } = system.identity;
  const nodePort = await system.kubectl(['get', 'service', service, '-n', namespace, '-o', 'jsonpath={.spec.ports[?(@.name=="http")].nodePort}']);
  expect(nodePort, "dist/'s controller Service has a node port").not.toBe('');
  await system.kubectl(['create', 'secret', 'generic', IMAGE_CONTROLLER_DEFAULTS.notificationSecretName, '-n', namespace, `--from-literal=token=${system.notificationToken}`]);
  await system.registry!.notify({ url: `http://${NODE_IP}:${nodePort}/notifications`, token: system.notificationToken });
  await system.kubectl(['rollout', 'restart', 'deployment', deployment, '-n', namespace]);
}

async function recordDemoPush({ system, demoDigests }: Walkthrough): Promise<void> {
  demoDigests.push(await skopeoDigest(`${system.registry!.host}/apps/demo:latest`));
}

/** What `npm run image` pushed becomes the digest the controller Pod must run. */
async function checkControllerImagePushed({ system }: Walkthrough): Promise<void> {
  system.controllerImageDigest = await skopeoDigest(`${system.registry!.host}/${CONTROLLER_REPOSITORY}:latest`);
  console.log(`built and pushed: ${CONTROLLER_IMAGE}@${system.controllerImageDigest}`);
}

/** The one controller Pod runs the digest built last, on Node 24; it becomes the walkthrough's `controllerPod`. */
async function checkControllerPodRunsBuiltImage(walkthrough: Walkthrough): Promise<void> {
  const { system } = walkthrough;
  const [pod, ...others] = (await controllerPods(system)).filter((candidate) => !candidate.deleting);
  expect(others).toEqual([]);
  const nodeVersion = (await system.kubectl(['exec', '-n', system.identity.namespace, pod.name, '--', 'node', '--version'])).trim();
  console.log(`controller Pod ${pod.name}: runs ${pod.imageId}; built ${CONTROLLER_IMAGE}@${system.controllerImageDigest}; node --version in it: ${nodeVersion}`);
  expect(pod.imageId).toBe(`${CONTROLLER_IMAGE}@${system.controllerImageDigest}`);
  expect(nodeVersion).toMatch(/^v24\./);
  walkthrough.controllerPod = pod.name;
}
