/**
 * What the supply-chain scenarios share: a system per file, Workloads of the demo's kind, what
 * Cartographer stamped into a Deployment, and what the controller says in /metrics and its log.
 */
import { Testing } from 'cdk8s';
import { afterAll, beforeAll } from 'vitest';
import { SupplyChain } from '../../charts/supply-chain.js';
import { SupplyChainSystem, type SupplyChainSystemOptions } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';

export interface WebWorkloadOptions {
  /** The ClusterImageTemplate's `image_prefix` param: the Image watches `<prefix><workload name>`. */
  imagePrefix?: string;
  /** Cartographer's `spec.image`, which the ClusterImageTemplate prefers to the prefix. */
  image?: string;
  /** The `image_semver` param: deploy the newest tag in this semver range. */
  imageSemver?: string;
  namespace?: string;
}

/** A Workload the supply chain in dist/ selects, run as the `admin` ServiceAccount dist/ gives it (like the demo). */
export function webWorkload(name: string, { imagePrefix, image, imageSemver, namespace = 'default' }: WebWorkloadOptions): object {
  const params = [
    ...(imagePrefix === undefined ? [] : [{ name: 'image_prefix', value: imagePrefix }]),
    ...(imageSemver === undefined ? [] : [{ name: 'image_semver', value: imageSemver }]),
  ];
  return {
    apiVersion: 'carto.run/v1alpha1',
    kind: 'Workload',
    metadata: { name, namespace, labels: { 'app.tanzu.vmware.com/workload-type': 'web' } },
    spec: {
      serviceAccountName: 'admin',
      ...(image === undefined ? {} : { image }),
      ...(params.length === 0 ? {} : { params }),
    },
  };
}

/** The image of the Deployment's pod template, or '' while the Deployment does not exist. */
export async function deployedImage(system: SupplyChainSystem, name: string, namespace = 'default'): Promise<string> {
  try {
    return await system.kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  } catch (error) {
    if (/NotFound/.test(String(error))) return '';
    throw error;
  }
}

/** Waits until Cartographer has stamped `image` into Deployment `name`'s pod template. */
export async function waitForDeployedImage(system: SupplyChainSystem, name: string, image: string, { namespace = 'default', timeoutMs = 30_000 } = {}): Promise<void> {
  await waitFor(
    `Deployment ${namespace}/${name} running ${image}`,
    async () => {
      const deployed = await deployedImage(system, name, namespace);
      if (deployed === image) return true;
      throw new Error(`the pod template's image is "${deployed}"`);
    },
    { timeoutMs, intervalMs: 100, abortIf: () => system.controller?.process.assertRunning() },
  );
}

/** The images of Deployment `name`'s ReplicaSets (selected by the template's `app` label), sorted. */
export async function replicaSetImages(system: SupplyChainSystem, name: string, namespace = 'default'): Promise<string[]> {
  const images = await system.kubectl([
    'get', 'replicasets', '-n', namespace, '-l', `app=${name}`,
    '-o', 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}{"\\n"}{end}',
  ]);
  return images.split('\n').filter(Boolean).sort();
}

/** The controller's JSON log lines, parsed. */
export function controllerLog(system: SupplyChainSystem): Record<string, unknown>[] {
  return system.controller!.process.log().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

/**
 * The sum of the samples of metric `name` whose labels include `labels`, from the Prometheus text
 * format (0 when there are none, as for a counter that was never incremented).
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const present = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) sum += Number(sample[3]);
  }
  return sum;
}

/**
 * A system for one scenario file, started in `beforeAll` and always stopped in `afterAll`: its registry on
 * a free port, and without the demo Workload dist/ installs. That Workload watches the seed's
 * localhost:5000, which belongs to scenario 1; removed, nothing else is checked, patched or counted beside
 * what the scenario asserts.
 */
export function scenarioSystem(options: SupplyChainSystemOptions = {}): SupplyChainSystem {
  const system = new SupplyChainSystem({ registryPort: 0, ...options });
  beforeAll(async () => {
    await system.start();
    await removeDemoWorkload(system);
  }, 300_000);
  afterAll(() => system.stop(), 60_000);
  return system;
}

async function removeDemoWorkload(system: SupplyChainSystem): Promise<void> {
  // Deleting the Workload while Cartographer is still creating its Image would leave the Image to the
  // garbage collector, which can take many seconds: wait for the Image, then delete both.
  await waitFor('Image default/demo stamped by Cartographer', async () => (await system.image('demo')) !== undefined, { timeoutMs: 60_000 });
  await system.kubectl(['delete', 'workload', 'demo', '-n', 'default']);
  await system.kubectl(['delete', 'images.example.com', 'demo', '-n', 'default', '--ignore-not-found']);
}

/** The `app.tanzu.vmware.com/workload-type` the signed chain (applySignedChain) selects. */
export const SIGNED_WORKLOAD_TYPE = 'signed-web';

/**
 * Applies an admin's chain whose Image template requires a signature by the key in Secret `cosign-pub`
 * (authority `release`), and that Secret in `default` holding `publicPem`.
 */
export async function applySignedChain(system: SupplyChainSystem, publicPem: string): Promise<void> {
  const chain = new SupplyChain(Testing.app(), 'signed', {
    name: 'signed',
    selector: { 'app.tanzu.vmware.com/workload-type': SIGNED_WORKLOAD_TYPE },
    imageTemplateName: 'signed-image',
    deploymentTemplateName: 'signed-deployment',
    imageVerification: { authorities: [{ name: 'release', key: { secretRef: { name: 'cosign-pub' } } }] },
  });
  for (const object of Testing.synth(chain)) await system.apply(object);
  await system.kubectl(['create', 'secret', 'generic', 'cosign-pub', '-n', 'default', `--from-literal=cosign.pub=${publicPem}`]);
}

/** A Workload of the signed chain, watching `<imagePrefix><name>`. */
export function signedWorkload(name: string, imagePrefix: string): object {
  return {
    apiVersion: 'carto.run/v1alpha1',
    kind: 'Workload',
    metadata: { name, namespace: 'default', labels: { 'app.tanzu.vmware.com/workload-type': SIGNED_WORKLOAD_TYPE } },
    spec: { serviceAccountName: 'admin', params: [{ name: 'image_prefix', value: imagePrefix }] },
  };
}
