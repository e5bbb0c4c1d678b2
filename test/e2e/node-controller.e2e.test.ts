// Node scenarios 5, 3 and 2: the controller Pod as kubelet runs it. Probes: /readyz keeps a Pod that
// cannot list Images out of the Service, /healthz gets a frozen controller restarted. Two replicas with
// --leader-elect: the leader's Pod deleted with grace 0, the other leads within the lease; the Deployment
// rolled to a new image digest while pushes go on, and none of them is lost. Notifications: the registry
// notifies the controller's Service, and with polling slowed to 10 minutes a push still leads to a Pod
// running the new digest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONTROLLER_REPOSITORY } from '../../charts/local-registry.js';
import { LEASE_NAME } from '../../controller/src/defaults.js';
import { buildControllerImage } from '../support/controller-image.js';
import { repoRoot, SEED_REGISTRY, type SupplyChainSystem } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { controllerMetrics, controllerPods, describePod, nodeSystem, waitForOnlyPodRunning, type PodSummary } from './node-pods.js';
import { metricValue, webWorkload } from './scenario.js';

const system = nodeSystem({ notifications: true });
const CONTROLLER_MANIFEST = join(repoRoot, 'dist/0001-image-controller.k8s.yaml');

function controllerKubectl(args: string[]): Promise<string> {
  return system.kubectl([...args, '-n', system.identity.namespace]);
}

/** The one object of `kind` in dist/'s controller manifest, as JSON. */
function distObject(kind: string): string {
  const objects = parseAllDocuments(readFileSync(CONTROLLER_MANIFEST, 'utf8')).map((document) => document.toJS());
  return JSON.stringify(objects.find((object) => object?.kind === kind));
}

/** Waits until the controller Deployment has `count` Pods, all Ready and none terminating, and returns them. */
async function waitForControllerPods(count: number, timeoutMs = 120_000): Promise<PodSummary[]> {
  return waitFor(
    `${count} Ready controller Pods`,
    async () => {
      const found = await controllerPods(system);
      if (found.length === count && found.every((pod) => pod.ready && !pod.deleting)) return found;
      throw new Error(JSON.stringify(found));
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Events kubelet wrote for `pod` with reason Unhealthy (failed probes), as their messages. */
async function probeFailures(pod: string): Promise<string[]> {
  const events = JSON.parse(
    await controllerKubectl(['get', 'events', '--field-selector', `involvedObject.name=${pod},reason=Unhealthy`, '-o', 'json']),
  ) as { items: { message: string }[] };
  return events.items.map((event) => event.message);
}

/** The Pod whose name starts the Lease's holderIdentity (`<pod>_<random>`), or '' when none holds it. */
async function leaderPod(): Promise<string> {
  const holder = await controllerKubectl(['get', 'lease', LEASE_NAME, '-o', 'jsonpath={.spec.holderIdentity}']).catch(() => '');
  return holder.replace(/_[^_]*$/, '');
}

describe('probes', () => {
  it('/readyz keeps a controller that cannot list Images unready, and it becomes Ready once it can', async () => {
    await system.kubectl(['delete', 'clusterrole', system.identity.deployment]);
    const [old] = await controllerPods(system);
    await controllerKubectl(['delete', 'pod', old.name, '--wait=false']);

    const unready = await waitFor(
      'a new controller Pod, running and failing its readiness probe',
      async () => {
        const [pod, ...others] = (await controllerPods(system)).filter((candidate) => candidate.name !== old.name);
        if (!pod || others.length > 0 || pod.phase !== 'Running' || pod.ready) return undefined;
        const failures = await probeFailures(pod.name);
        return failures.some((message) => message.startsWith('Readiness probe failed') && message.includes('503')) ? pod : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(unready.restarts).toBe(0);

    // dist/'s ClusterRole back (the Deployment itself untouched): the Image watch's list succeeds on a retry.
    await system.apply(distObject('ClusterRole'));
    const [ready] = await waitForControllerPods(1);
    expect(ready.name).toBe(unready.name);
  });

  it('/healthz gets a frozen controller restarted by kubelet', async () => {
    const [pod] = await controllerPods(system);
    // SIGSTOP freezes the whole process: /healthz stops answering, as in a wedged event loop.
    process.kill(await system.node!.containerPid(pod.containerId), 'SIGSTOP');

    const restarted = await waitFor(
      'the controller container restarted after failing its liveness probe',
      async () => {
        const [current] = await controllerPods(system);
        return current.name === pod.name && current.restarts > pod.restarts && current.ready ? current : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(restarted.containerId).not.toBe(pod.containerId);
    expect((await probeFailures(pod.name)).some((message) => message.startsWith('Liveness probe failed'))).toBe(true);
  });
});

describe('two replicas with --leader-elect', () => {
  it('the leader Pod deleted with grace 0: the other replica leads within the lease', async () => {
    await controllerKubectl(['scale', `deployment/${system.identity.deployment}`, '--replicas=2']);
    const replicas = await waitForControllerPods(2);
    const leader = await waitFor('a leader', async () => (await leaderPod()) || undefined);
    const standby = replicas.find((pod) => pod.name !== leader);
    expect(standby).toBeDefined();
    const leaseSeconds = Number(await controllerKubectl(['get', 'lease', LEASE_NAME, '-o', 'jsonpath={.spec.leaseDurationSeconds}']));

    const deletedAt = Date.now();
    await controllerKubectl(['delete', 'pod', leader, '--grace-period=0', '--force']);
    // The lease, a retry period and kubectl's polling: the standby campaigns once the lease has expired.
    await waitFor(`${standby!.name} leading`, async () => (await leaderPod()) === standby!.name, { timeoutMs: (leaseSeconds + 10) * 1000, intervalMs: 200 });
    console.log(`leader Pod deleted (grace 0) → ${standby!.name} holds the Lease in ${Date.now() - deletedAt} ms (lease ${leaseSeconds} s)`);
    expect(metricValue(await controllerMetrics(system, standby!.name), 'image_controller_leader')).toBe(1);
  });

  it('rolled to a new image digest while pushes go on, every push reaches its Image (polling every 10 s)', async () => {
    const replicas = await waitForControllerPods(2);
    const repositories = Array.from({ length: 8 }, (_, index) => `roll/app-${index}`);
    // Each Image resolved before the roll, so what the roll must not lose is the move of its tag.
    for (const [index, repository] of repositories.entries()) {
      const initial = await system.push(repository);
      await system.apply({
        apiVersion: 'example.com/v1',
        kind: 'Image',
        metadata: { name: `roll-${index}`, namespace: 'default' },
        spec: { image: `${SEED_REGISTRY}/${repository}` },
      });
      await system.waitForLatestImage(`roll-${index}`, `${SEED_REGISTRY}/${repository}@${initial}`);
    }
    // The same code built again from the Dockerfile, labelled, so that it has a digest of its own.
    const digest = await buildControllerImage({ revision: 'rolled' });
    expect(digest).not.toBe(system.controllerImageDigest);

    await controllerKubectl(['set', 'image', `deployment/${system.identity.deployment}`, `controller=${SEED_REGISTRY}/${CONTROLLER_REPOSITORY}@${digest}`]);
    const pushed = new Map<string, string>();
    // One push a second to the next repository while the two Pods are replaced one by one.
    for (const [index, repository] of repositories.entries()) {
      pushed.set(`roll-${index}`, await system.push(repository));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await controllerKubectl(['rollout', 'status', `deployment/${system.identity.deployment}`, '--timeout=120s']);

    for (const [name, pushedDigest] of pushed) {
      await system.waitForLatestImage(name, `${SEED_REGISTRY}/roll/app-${name.slice('roll-'.length)}@${pushedDigest}`, { timeoutMs: 30_000 });
    }
    const rolled = await waitForControllerPods(2);
    expect(rolled.map((pod) => pod.imageId)).toEqual([0, 1].map(() => `${SEED_REGISTRY}/${CONTROLLER_REPOSITORY}@${digest}`));
    expect(rolled.map((pod) => pod.name).filter((name) => replicas.some((old) => old.name === name))).toEqual([]);
  });
});

describe("notifications through the controller's Service", () => {
  it('with polling every 10 minutes, a push leads to a Pod running the new digest', async () => {
    await scaleToOneReplicaPolling(system, '10m');
    const [controller] = await waitForControllerPods(1);
    await system.apply(webWorkload('notified', { imagePrefix: `${SEED_REGISTRY}/notify/` }));
    // The Workload first, then the pushes: each one reaches the Image only by its notification.
    const first = await system.push('notify/notified');
    await waitForOnlyPodRunning(system, 'app=notified', `${SEED_REGISTRY}/notify/notified@${first}`, { timeoutMs: 60_000 });
    const acceptedBefore = metricValue(await controllerMetrics(system, controller.name), 'image_controller_notifications_total', { result: 'accepted' });

    const pushStartedAt = Date.now();
    const second = await system.push('notify/notified');
    const pod = await waitForOnlyPodRunning(system, 'app=notified', `${SEED_REGISTRY}/notify/notified@${second}`, { timeoutMs: 60_000 });
    console.log(`notified: ${describePod(pod)} (push → the only Pod Ready on the new digest in ${Date.now() - pushStartedAt} ms, polling every 10 m)`);
    expect(metricValue(await controllerMetrics(system, controller.name), 'image_controller_notifications_total', { result: 'accepted' })).toBeGreaterThan(acceptedBefore);
  });
});

/** One replica of dist/'s Deployment with `--interval` added to its arguments. */
async function scaleToOneReplicaPolling(target: SupplyChainSystem, interval: string): Promise<void> {
  await target.kubectl([
    'patch', 'deployment', target.identity.deployment, '-n', target.identity.namespace, '--type=json',
    '-p', JSON.stringify([
      { op: 'replace', path: '/spec/replicas', value: 1 },
      { op: 'add', path: '/spec/template/spec/containers/0/args/-', value: `--interval=${interval}` },
    ]),
  ]);
  await target.kubectl(['rollout', 'status', `deployment/${target.identity.deployment}`, '-n', target.identity.namespace, '--timeout=120s']);
}
