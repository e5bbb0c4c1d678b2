/**
 * The whole product on loopback, the way a user runs it: a real control plane with Cartographer, the
 * real registry on 127.0.0.1:5000 (the seed's `localhost:5000`), `kubectl apply -f dist/` exactly as the
 * README says, and the bundled image controller running under the ServiceAccount dist/ gives it, so
 * the RBAC the charts synthesize is what is tested. Shared by the e2e, resilience and benchmark runs.
 * With `node: true` it is all on a real node instead (test/support/node.ts), and the controller is the
 * Pod dist/ deploys, from the image `npm run image` builds from controller/Dockerfile
 * (test/support/controller-image.ts).
 *
 *   const system = new SupplyChainSystem({ notifications: true });
 *   beforeAll(() => system.start(), 300_000);
 *   afterAll(() => system.stop(), 60_000);
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { IMAGE_CONTROLLER_DEFAULTS } from '../../charts/image-controller.js';
import { LOCAL_REGISTRY } from '../../charts/local-registry.js';
import type { Image } from '../../controller/src/api/image.js';
import { LOCAL_REGISTRY_HOSTING } from '../../controller/src/kube/api.js';
import { CONTROLLER_ENV, CONTROLLER_NODE_OPTIONS } from '../../controller/src/node-options.js';
import { cartographerConfigDir } from './assets.js';
import { ControlPlane } from './control-plane.js';
import { buildControllerImage } from './controller-image.js';
import { KubeNode, NODE_IP } from './node.js';
import { pushImage, skopeoDigest, writeImageLayout, type LayoutOptions, type PushOptions } from './oci.js';
import { freePort, type ManagedProcess } from './processes.js';
import { startRegistry, type Registry, type RegistryOptions } from './registry.js';
import { waitFor } from './wait.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const controllerBundle = join(repoRoot, 'controller/dist/image-controller.js');

/** The name Images are written with, as the kubelet (and the demo's image_prefix) sees the registry: dist/'s `localhost:5000`. */
export const SEED_REGISTRY = LOCAL_REGISTRY;
/** The seed's registry port, which the demo Workload's image_prefix names. */
export const SEED_REGISTRY_PORT = Number(new URL(`http://${LOCAL_REGISTRY}`).port);

export interface SupplyChainSystemOptions {
  /** Run Cartographer (the supply chain scenarios need it; controller-only runs don't). @default true */
  cartographer?: boolean;
  /** Have the registry POST push notifications to the controller's /notifications. @default false */
  notifications?: boolean;
  /** Flags added to `image-controller run` (after the harness's own). @default [] */
  controllerArgs?: string[];
  /** Start the controller in start(); false leaves it to the test (`startController`). @default true */
  startController?: boolean;
  /**
   * Registry port on 127.0.0.1. The demo Workload needs the seed's 5000; runs that create their own
   * Images can take 0 (a free port) and so run beside another system. @default 5000
   */
  registryPort?: number;
  /**
   * Run on a real node: the control plane, the registry (on the seed's port) and the node in one network
   * namespace, kube-public/local-registry-hosting published as kind-with-registry.sh does, and the
   * controller as the Pod of dist/'s Deployment (startController and the host process are not used).
   * With `notifications`, the registry notifies the controller's Service and the token is in the Secret
   * the Deployment reads. @default false
   */
  node?: boolean;
  /**
   * The node binary, NODE_OPTIONS and extra environment of the controller processes (the bench runs the
   * image's node release with it). @default the host's node (process.execPath) with CONTROLLER_NODE_OPTIONS
   */
  controllerRuntime?: { node: string; nodeOptions: string; args?: string[]; env?: Record<string, string> };
  /**
   * With `node`: start only what `scripts/kind-with-registry.sh` gives a kind user (the cluster, its
   * registry and kube-public/local-registry-hosting), and leave Cartographer, the controller image and
   * `dist/` to the test, which installs them as the README's walkthrough does. @default false
   */
  clusterOnly?: boolean;
}

export interface ControllerProcessOptions {
  /** Extra flags. @default the system's controllerArgs */
  args?: string[];
  /** Process name in logs, for several replicas. @default 'image-controller' */
  name?: string;
  /** Wait for /readyz. @default true */
  waitReady?: boolean;
}

export interface StopControllerOptions {
  /** SIGTERM lets it drain and release its Lease; SIGKILL is a crash. @default 'SIGTERM' */
  signal?: 'SIGTERM' | 'SIGKILL';
}

export interface RunningController {
  process: ManagedProcess;
  /** `http://127.0.0.1:PORT`: /healthz, /readyz, /metrics, /notifications. */
  url: string;
}

interface ControllerIdentity {
  namespace: string;
  serviceAccount: string;
  /** The Deployment and the Service in front of it. */
  deployment: string;
  service: string;
}


export class SupplyChainSystem {
  /** Replaced by one inside the node's namespace when start() makes the node. */
  controlPlane = new ControlPlane();
  /** The node, with `node: true`. */
  node: KubeNode | undefined;
  /** Digest of the controller image start() pushed, with `node: true`. */
  controllerImageDigest = '';
  readonly options: Required<SupplyChainSystemOptions>;
  /** Bearer token the registry sends and the controller requires on /notifications. */
  readonly notificationToken = randomBytes(24).toString('hex');
  registry: Registry | undefined;
  /** The first controller started, which the registry notifies. */
  controller: RunningController | undefined;
  /** Namespace and ServiceAccount of the controller, read from dist/. */
  readonly identity: ControllerIdentity = controllerIdentityFromDist();
  #controllerKubeconfig = '';
  #notifyPort = 0;
  #layouts = '';

  constructor(options: SupplyChainSystemOptions = {}) {
    this.options = {
      cartographer: options.cartographer ?? true,
      notifications: options.notifications ?? false,
      controllerArgs: options.controllerArgs ?? [],
      startController: options.startController ?? true,
      registryPort: options.registryPort ?? SEED_REGISTRY_PORT,
      node: options.node ?? false,
      controllerRuntime: options.controllerRuntime ?? { node: process.execPath, nodeOptions: CONTROLLER_NODE_OPTIONS, env: { ...CONTROLLER_ENV } },
      clusterOnly: options.clusterOnly ?? false,
    };
  }

  async start(): Promise<void> {
    if (!existsSync(controllerBundle)) throw new Error('the controller bundle is missing: run `npm run build` first');
    this.#layouts = await mkdtemp(join(tmpdir(), 'e2e-images-'));
    if (this.options.node) return this.#startOnNode();
    await this.controlPlane.start();
    if (this.options.cartographer) await this.controlPlane.startCartographer();
    else await this.#installCartographerCrds();
    await this.kubectl(['apply', '-f', join(repoRoot, 'dist')]);
    this.#controllerKubeconfig = await this.controlPlane.serviceAccountKubeconfig(
      this.identity.namespace,
      this.identity.serviceAccount,
    );
    // The registry must know where to send notifications before it starts, so the first controller's
    // port is chosen now.
    this.#notifyPort = await freePort();
    this.registry = await startRegistry({
      port: this.options.registryPort,
      notifications: this.options.notifications
        ? { url: `http://127.0.0.1:${this.#notifyPort}/notifications`, token: this.notificationToken }
        : undefined,
    });
    if (this.options.startController) this.controller = await this.startController();
  }

  /**
   * Starts a controller process as the dist/ ServiceAccount. While no other controller is the system's
   * `controller`, the new one becomes it and listens where the registry sends notifications.
   */
  async startController(options: ControllerProcessOptions = {}): Promise<RunningController> {
    const port = this.controller ? await freePort() : this.#notifyPort;
    const url = `http://127.0.0.1:${port}`;
    const process_ = this.controlPlane.startProcess({
      name: options.name ?? 'image-controller',
      command: this.options.controllerRuntime.node,
      args: [
        ...(this.options.controllerRuntime.args ?? []),
        controllerBundle,
        'run',
        '--kubeconfig', this.#controllerKubeconfig,
        '--http-address', `127.0.0.1:${port}`,
        '--log-level', 'debug',
        ...(this.options.notifications ? ['--notification-token', this.notificationToken] : []),
        ...(options.args ?? this.options.controllerArgs),
      ],
      // The node options it ships with (not the test runner's own NODE_OPTIONS), so tests and benchmarks see its real heap.
      env: { ...process.env, ...this.options.controllerRuntime.env, NODE_OPTIONS: this.options.controllerRuntime.nodeOptions, POD_NAMESPACE: this.identity.namespace },
    });
    const running = { process: process_, url };
    if (options.waitReady ?? true) await this.waitControllerReady(running);
    this.controller ??= running;
    return running;
  }

  /** Stops a controller (the system's `controller` by default); a later startController() takes its place. */
  async stopController(controller = this.controller, { signal = 'SIGTERM' }: StopControllerOptions = {}): Promise<void> {
    if (!controller) return;
    if (signal === 'SIGKILL') {
      controller.process.killGroup('SIGKILL');
      await controller.process.exited;
    } else {
      await controller.process.stop();
    }
    if (controller === this.controller) this.controller = undefined;
  }

  async waitControllerReady({ process: process_, url }: RunningController, timeoutMs = 30_000): Promise<void> {
    try {
      await waitFor(`${process_.spec.name} /readyz`, async () => (await fetch(`${url}/readyz`)).status === 200, {
        timeoutMs,
        abortIf: () => process_.assertRunning(),
      });
    } catch (error) {
      // The work directory, log included, is gone once the system stops: say now what the controller said.
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${process_.logTail(20)}`);
    }
  }

  /** The controller's Prometheus metrics, as text. */
  async metrics(controller = this.controller): Promise<string> {
    if (!controller) throw new Error('no controller is running');
    return (await fetch(`${controller.url}/metrics`)).text();
  }

  kubectl(args: string[], options?: Parameters<ControlPlane['kubectl']>[1]): Promise<string> {
    return this.controlPlane.kubectl(args, options);
  }

  /**
   * Pushes a new image (new digest every time) to `repository:tag` of the registry and returns the
   * digest the registry now serves for the tag, as skopeo sees it.
   */
  async push(repository: string, options: PushOptions & Omit<LayoutOptions, 'runnable'> = {}): Promise<string> {
    const registry = this.#requireRegistry();
    const tag = options.tag ?? 'latest';
    // On a node every pushed image is run, so it must be runnable.
    const layout = await writeImageLayout(join(this.#layouts, randomBytes(8).toString('hex')), { tag, multiArch: options.multiArch, runnable: this.options.node });
    const destination = `${registry.host}/${repository}:${tag}`;
    await pushImage(layout, destination, { format: options.format, all: options.all ?? options.multiArch });
    await rm(layout.dir, { recursive: true, force: true });
    return skopeoDigest(destination);
  }

  /** The Image `namespace/name`, or undefined when it does not exist. */
  async image(name: string, namespace = 'default'): Promise<Image | undefined> {
    try {
      return JSON.parse(await this.kubectl(['get', 'images.example.com', name, '-n', namespace, '-o', 'json'])) as Image;
    } catch (error) {
      if (/NotFound/.test(String(error))) return undefined;
      throw error;
    }
  }

  /** Waits until the Image's status.latestImage is `latestImage` and returns the Image. */
  async waitForLatestImage(name: string, latestImage: string, { namespace = 'default', timeoutMs = 30_000 } = {}): Promise<Image> {
    return waitFor(
      `Image ${namespace}/${name} status.latestImage = ${latestImage}`,
      async () => {
        const image = await this.image(name, namespace);
        if (image?.status?.latestImage === latestImage) return image;
        throw new Error(`status is ${JSON.stringify(image?.status ?? null)}`);
      },
      { timeoutMs, intervalMs: 200, abortIf: () => this.controller?.process.assertRunning() },
    );
  }

  /** Creates or updates objects from a JSON/YAML manifest string with the admin kubeconfig. */
  apply(manifest: string | object): Promise<string> {
    const input = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    return this.kubectl(['apply', '-f', '-'], { input });
  }

  /** The last lines of every process's log (control plane, Cartographer, registry excluded, controllers). */
  logTails(): string {
    return this.controlPlane.logTails();
  }

  async stop(): Promise<void> {
    await this.node?.stop();
    await this.controlPlane.stop();
    await this.registry?.stop();
    await this.node?.remove();
    this.node = undefined;
    if (this.#layouts) await rm(this.#layouts, { recursive: true, force: true });
    this.registry = undefined;
    this.controller = undefined;
  }

  async #startOnNode(): Promise<void> {
    const node = await KubeNode.prepare();
    this.node = node;
    this.controlPlane = new ControlPlane({ node: node.network });
    await this.controlPlane.start();
    const { namespace, deployment } = this.identity;
    const installing = !this.options.clusterOnly;
    let notifications: RegistryOptions['notifications'];
    if (installing) {
      if (this.options.cartographer) await this.controlPlane.startCartographer();
      else await this.#installCartographerCrds();
      // Pods stay Pending until the node starts, so none pulls an image that is not pushed yet.
      await this.kubectl(['apply', '-f', join(repoRoot, 'dist')]);
      if (this.options.notifications) {
        const service = await this.kubectl(['get', 'service', this.identity.service, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}:{.spec.ports[0].port}']);
        notifications = { url: `http://${service}/notifications`, token: this.notificationToken };
      }
    }
    this.registry = await startRegistry({ port: SEED_REGISTRY_PORT, namespace: node.network, notifications });
    await this.apply(localRegistryHosting(`${NODE_IP}:${SEED_REGISTRY_PORT}`));
    if (installing) {
      if (notifications) {
        await this.kubectl(['create', 'secret', 'generic', IMAGE_CONTROLLER_DEFAULTS.notificationSecretName, '-n', namespace, `--from-literal=token=${this.notificationToken}`]);
      }
      this.controllerImageDigest = await buildControllerImage();
    }
    await node.start(this.controlPlane, { registry: SEED_REGISTRY, pushTo: this.registry.host });
    if (!installing) return;
    await this.kubectl(['rollout', 'status', `deployment/${deployment}`, '-n', namespace, '--timeout=120s']).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${node.logTails()}\n${node.podLogs(namespace)}`);
    });
  }

  /** dist/ holds the supply chain and the demo Workload, whose kinds must exist even when Cartographer does not run. */
  async #installCartographerCrds(): Promise<void> {
    const crds = join(await cartographerConfigDir(), 'crd/bases');
    await this.kubectl(['apply', '--server-side', '-f', crds]);
    await this.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  }

  #requireRegistry(): Registry {
    if (!this.registry) throw new Error('the registry is not running: call start() first');
    return this.registry;
  }
}

/**
 * KEP-1755's ConfigMap as scripts/kind-with-registry.sh publishes it: the node's containerd knows the
 * registry as the seed's `localhost:5000`, Pods reach it at `hostFromClusterNetwork`.
 */
function localRegistryHosting(hostFromClusterNetwork: string): object {
  const { namespace, name, key } = LOCAL_REGISTRY_HOSTING;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: {
      [key]: `host: "${SEED_REGISTRY}"\nhostFromClusterNetwork: "${hostFromClusterNetwork}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n`,
    },
  };
}

/** The controller's namespace and ServiceAccount as dist/ defines them, so the test follows the charts. */
function controllerIdentityFromDist(): ControllerIdentity {
  const file = join(repoRoot, 'dist/0001-image-controller.k8s.yaml');
  const objects = parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS());
  const deployment = objects.find((object) => object?.kind === 'Deployment');
  const service = objects.find((object) => object?.kind === 'Service');
  if (!deployment || !service) throw new Error(`no Deployment or no Service in ${file}`);
  return {
    namespace: deployment.metadata.namespace,
    serviceAccount: deployment.spec.template.spec.serviceAccountName,
    deployment: deployment.metadata.name,
    service: service.metadata.name,
  };
}
