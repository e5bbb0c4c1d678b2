/**
 * The controllers the peer comparison runs one after the other on the same control plane and registry:
 * ours, as the harness runs it (the bundled controller under its dist/ ServiceAccount), and Flux's
 * image-reflector-controller built by `scripts/e2e-setup.sh --with-flux`, run with the arguments of its
 * own Deployment (config/manager/deployment.yaml) but scoped to one namespace as ours is and without
 * leader election (it cannot find a namespace for its Lease outside a Pod), with one
 * ImageRepository and one ImagePolicy (`digestReflectionPolicy: Always`) per tag, with and without its
 * FluxStorage feature gate.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { assetDir, readPinnedVersions, toolModuleDownload } from '../test/support/assets.js';
import { freePort } from '../test/support/processes.js';
import type { SupplyChainSystem } from '../test/support/supply-chain-system.js';
import { controllerMetrics, controllerPid, pidOf, sum, waitFor, type AdminApi } from './support.js';

export const FLUX_VERSION = readPinnedVersions().FLUX_IMAGE_REFLECTOR_VERSION!;

/** One object the bench watches: the tag it follows and where a controller reports its digest. */
export interface Watched {
  name: string;
  /** `host/repository:tag`; with `semverRange`, the tag is the release a push adds. */
  image: string;
  /** Choose the newest tag of the repository in this range (ours: spec.policy; Flux: an ImagePolicy's), instead of following the tag. */
  semverRange?: string;
}

/** `host/repository` of a watched `host/repository:tag`. */
const repositoryOf = (image: string) => image.slice(0, image.lastIndexOf(':'));

export interface Running {
  pid: number;
  /** Checks (ours) or ImageRepository scans (Flux) so far, from the controller's own /metrics. */
  checks(): Promise<number>;
  /** Heap in use by the runtime (V8's, Go's), from its /metrics: what of the RSS is live data. */
  heapInUseBytes(): Promise<number>;
  stop(): Promise<void>;
}

export interface Contender {
  /** Short label for tables and JSON: `ours`, `flux`, `flux-storage`. */
  label: string;
  /** What it is and how it runs, for the report. */
  description: string;
  /** The API resources its writes go to (besides Leases, counted apart). */
  writeResources: string[];
  /** Creates one watched object (or pair of objects) per entry, before the controller starts. */
  create(namespace: string, watched: Watched[]): Promise<void>;
  start(namespace: string): Promise<Running>;
  /** Each watched object's digest as its status shows it (undefined while unresolved), by name. */
  digests(namespace: string): Promise<Map<string, string | undefined>>;
  /** One watched object's digest as its status shows it. */
  digest(namespace: string, name: string): Promise<string | undefined>;
}

interface ImageObject {
  metadata: { name: string };
  status?: { latestImage?: string };
}

interface ImagePolicyObject {
  metadata: { name: string };
  status?: { latestRef?: { digest?: string } };
}

const digestOf = (latestImage: string | undefined) => latestImage?.slice(latestImage.indexOf('@') + 1);

export function ours(system: SupplyChainSystem, api: AdminApi, intervalS: number): Contender {
  const images = (namespace: string) => `/apis/example.com/v1/namespaces/${namespace}/images`;
  return {
    label: 'ours',
    description: 'this controller (controller/dist/image-controller.js, its node options, dist/ ServiceAccount), one Image per tag',
    writeResources: ['images', 'events'],
    create: (namespace, watched) =>
      api.createImages(namespace, 0, watched.length, (i) => {
        const { name, image, semverRange } = watched[i]!;
        const interval = `${intervalS}s`;
        return { name, spec: semverRange === undefined ? { image, interval } : { image: repositoryOf(image), interval, policy: { semver: { range: semverRange } } } };
      }),
    async start(namespace) {
      // The system's first controller: the one its registry notifies.
      if (system.controller) throw new Error('the peer comparison needs every other controller stopped: the registry notifies the first one');
      const controller = await system.startController({ name: namespace, args: ['--namespace', namespace, '--log-level', 'info'] });
      return {
        pid: controllerPid(controller.url),
        checks: async () => sum(await controllerMetrics(controller.url), 'image_controller_checks_total'),
        heapInUseBytes: async () => sum(await controllerMetrics(controller.url), 'nodejs_heap_size_used_bytes'),
        stop: () => system.stopController(controller),
      };
    },
    digests: async (namespace) => new Map((await api.list<ImageObject>(images(namespace))).map((image) => [image.metadata.name, digestOf(image.status?.latestImage)])),
    async digest(namespace, name) {
      const { status, text } = await api.call('GET', `${images(namespace)}/${name}`);
      if (status !== 200) throw new Error(`GET Image ${namespace}/${name}: ${status}`);
      return digestOf((JSON.parse(text) as ImageObject).status?.latestImage);
    },
  };
}

/**
 * Flux's image-reflector-controller; `fluxStorage` turns on its FluxStorage feature gate (tags kept in
 * files instead of a Badger database: its smallest memory configuration).
 */
export function flux(system: SupplyChainSystem, api: AdminApi, intervalS: number, workDir: string, { fluxStorage }: { fluxStorage: boolean }): Contender {
  const group = '/apis/image.toolkit.fluxcd.io/v1/namespaces';
  let crdsApplied = false;
  return {
    label: fluxStorage ? 'flux-storage' : 'flux',
    description: `Flux image-reflector-controller ${FLUX_VERSION}${fluxStorage ? ' --feature-gates=FluxStorage=true' : ' (defaults)'}, one ImageRepository + ImagePolicy (digestReflectionPolicy: Always) per tag`,
    writeResources: ['imagerepositories', 'imagepolicies', 'events'],
    async create(namespace, watched) {
      if (!crdsApplied) {
        const crds = join(await toolModuleDownload('flux', 'github.com/fluxcd/image-reflector-controller'), 'config/crd/bases');
        await system.kubectl(['apply', '--server-side', '-f', crds]);
        await system.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
        crdsApplied = true;
      }
      // One repository per object, as Flux's docs pair them; each lists the whole repository's tags.
      await api.createObjects(`${group}/${namespace}/imagerepositories`, 0, watched.length, (i) => {
        const { name, image } = watched[i]!;
        return {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImageRepository',
          metadata: { name, namespace },
          spec: { image: repositoryOf(image), interval: `${intervalS}s`, insecure: true },
        };
      });
      await api.createObjects(`${group}/${namespace}/imagepolicies`, 0, watched.length, (i) => {
        const { name, image, semverRange } = watched[i]!;
        const tag = image.slice(image.lastIndexOf(':') + 1);
        const choice = semverRange === undefined ? { filterTags: { pattern: `^${tag}$` }, policy: { alphabetical: { order: 'asc' } } } : { policy: { semver: { range: semverRange } } };
        return {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImagePolicy',
          metadata: { name, namespace },
          spec: {
            imageRepositoryRef: { name },
            ...choice,
            digestReflectionPolicy: 'Always',
            interval: `${intervalS}s`,
          },
        };
      });
    },
    async start(namespace) {
      const binary = join(await assetDir(), `image-reflector-controller-${FLUX_VERSION}`);
      if (!existsSync(binary)) throw new Error(`${binary} is missing: run scripts/e2e-setup.sh --with-flux`);
      const [metricsPort, healthPort] = [await freePort(), await freePort()];
      const metricsAddress = `127.0.0.1:${metricsPort}`;
      const processInstance = system.controlPlane.startProcess({
        name: namespace,
        command: binary,
        args: [
          // Its Deployment's arguments, but one namespace (RUNTIME_NAMESPACE) as ours watches one, and
          // without --enable-leader-election (ours runs without --leader-elect too): outside a Pod
          // controller-runtime finds no namespace for the Lease and Flux has no flag to name one.
          '--watch-all-namespaces=false',
          '--log-level=info',
          '--log-encoding=json',
          `--metrics-addr=${metricsAddress}`,
          `--health-addr=127.0.0.1:${healthPort}`,
          `--storage-path=${await mkdtemp(join(workDir, 'flux-storage-'))}`,
          ...(fluxStorage ? ['--feature-gates=FluxStorage=true'] : []),
        ],
        // As admin: RBAC does not change what it costs, and its ClusterRole is not ours to keep in step.
        env: { ...process.env, KUBECONFIG: system.controlPlane.kubeconfig, RUNTIME_NAMESPACE: namespace },
      });
      try {
        await waitFor(`${processInstance.spec.name} /readyz`, async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok, {
          timeoutMs: 60_000,
          abortIf: () => processInstance.assertRunning(),
        });
      } catch (error) {
        // The log goes with the control plane's work directory: say now what Flux said.
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${processInstance.logTail(20)}`);
      }
      return {
        pid: pidOf(`Flux process serving metrics on ${metricsAddress}`, (cmdline) => cmdline[0] === binary && cmdline.includes(`--metrics-addr=${metricsAddress}`)),
        checks: async () =>
          sum(await controllerMetrics(`http://${metricsAddress}`), 'controller_runtime_reconcile_total', { controller: 'imagerepository' }),
        heapInUseBytes: async () => sum(await controllerMetrics(`http://${metricsAddress}`), 'go_memstats_heap_inuse_bytes'),
        stop: () => processInstance.stop(),
      };
    },
    digests: async (namespace) =>
      new Map((await api.list<ImagePolicyObject>(`${group}/${namespace}/imagepolicies`)).map((policy) => [policy.metadata.name, policy.status?.latestRef?.digest || undefined])),
    async digest(namespace, name) {
      const { status, text } = await api.call('GET', `${group}/${namespace}/imagepolicies/${name}`);
      if (status !== 200) throw new Error(`GET ImagePolicy ${namespace}/${name}: ${status}`);
      return (JSON.parse(text) as ImagePolicyObject).status?.latestRef?.digest || undefined;
    },
  };
}
