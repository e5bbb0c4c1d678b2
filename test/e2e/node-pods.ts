/**
 * What the node scenarios ask of Pods: which run, on which image digest, whether Ready, and what the
 * controller's Pods say.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { hostState, leftBehind, type HostState } from '../support/host-state.js';
import { SupplyChainSystem, type SupplyChainSystemOptions } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';

export interface PodSummary {
  name: string;
  phase: string;
  ready: boolean;
  /** The container's image as the Pod names it. */
  image: string;
  /** What the node resolved and runs: `repo@sha256:…` (containerd's repo digest). */
  imageId: string;
  restarts: number;
  deleting: boolean;
  containerId: string;
}

interface PodObject {
  metadata: { name: string; deletionTimestamp?: string };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { image: string; imageID: string; restartCount: number; containerID?: string }[];
  };
}

/**
 * A system on a real node for one scenario file, started in `beforeAll` and always stopped in `afterAll`,
 * which then fails if the host has anything the file left behind (host-state.ts).
 */
export function nodeSystem(options: Omit<SupplyChainSystemOptions, 'node'> = {}): SupplyChainSystem {
  const system = new SupplyChainSystem({ ...options, node: true });
  let before: HostState;
  beforeAll(async () => {
    before = await hostState();
    await system.start();
  }, 900_000);
  afterAll(async () => {
    await system.stop();
    expect(leftBehind(before, await hostState())).toEqual([]);
  }, 180_000);
  return system;
}

/** The Pods matching `selector` in `namespace`, oldest first. */
export async function pods(system: SupplyChainSystem, selector: string, namespace = 'default'): Promise<PodSummary[]> {
  const list = JSON.parse(
    await system.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '--sort-by=.metadata.creationTimestamp', '-o', 'json']),
  ) as { items: PodObject[] };
  return list.items.map(({ metadata, status }) => {
    const container = status.containerStatuses?.[0];
    return {
      name: metadata.name,
      phase: status.phase,
      ready: status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false,
      image: container?.image ?? '',
      imageId: container?.imageID ?? '',
      restarts: container?.restartCount ?? 0,
      deleting: metadata.deletionTimestamp !== undefined,
      containerId: (container?.containerID ?? '').replace(/^containerd:\/\//, ''),
    };
  });
}

/** The controller's Pods (dist/'s Deployment selects them by app.kubernetes.io/name). */
export function controllerPods(system: SupplyChainSystem): Promise<PodSummary[]> {
  return pods(system, `app.kubernetes.io/name=${system.identity.deployment}`, system.identity.namespace);
}

/** Waits until `selector` matches exactly one Pod, Ready, running `image` (`repo@sha256:…`), and returns it. */
export async function waitForOnlyPodRunning(
  system: SupplyChainSystem,
  selector: string,
  image: string,
  { namespace = 'default', timeoutMs = 60_000 } = {},
): Promise<PodSummary> {
  return waitFor(
    `the only Pod ${namespace}/${selector} Ready and running ${image}`,
    async () => {
      const found = await pods(system, selector, namespace);
      if (found.length === 1 && found[0].ready && found[0].imageId === image) return found[0];
      throw new Error(`Pods: ${JSON.stringify(found)}`);
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** A controller Pod's /metrics, through the apiserver's proxy to the Pod's port. */
export function controllerMetrics(system: SupplyChainSystem, pod: string): Promise<string> {
  return system.kubectl(['get', '--raw', `/api/v1/namespaces/${system.identity.namespace}/pods/${pod}:8080/proxy/metrics`]);
}

/** `name phase digest`, as scenario 1 prints each Pod. */
export function describePod(pod: PodSummary): string {
  return `${pod.name} ${pod.phase} ${pod.imageId.slice(pod.imageId.indexOf('@') + 1)}`;
}

/** Runs `node -e <script>` in the controller Pod's container and resolves with its stdout. */
export function nodeInPod(system: SupplyChainSystem, pod: string, script: string): Promise<string> {
  return system.kubectl(['exec', '-n', system.identity.namespace, pod, '--', 'node', '-e', script]);
}
