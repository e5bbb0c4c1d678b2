// The controller's kube layer against a real API server, under the controller's own ServiceAccount
// token and the ClusterRole/Roles synthesized in dist/, so a call the RBAC does not allow fails here:
// the Image watch, the /status merge patch, aggregated Events, the Lease and the readers. The apiserver's
// audit log records every request they send, and the last test compares those (verb, resource) pairs
// with the rules declared beside the calls (CONTROLLER_RBAC), both ways.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_CONTROLLER_DEFAULTS } from '../../charts/image-controller.js';
import { IMAGE_API_VERSION, IMAGE_KIND, type Image } from '../../controller/src/api/image.js';
import { systemClock } from '../../controller/src/clock.js';
import { LEASE_NAME } from '../../controller/src/defaults.js';
import {
  ALWAYS_LEADER,
  createKubeClient,
  EventRecorder,
  ImageWatch,
  LeaderElector,
  loadKubeConfig,
  CONTROLLER_RBAC,
  LOCAL_REGISTRY_HOSTING,
  RegistryEndpoints,
  type KubeClient,
  type PolicyRule,
} from '../../controller/src/kube/index.js';
import { createLogger } from '../../controller/src/log.js';
import { CheckLoop, NO_METRICS } from '../../controller/src/reconcile/index.js';
import { sleep } from '../support/processes.js';
import { ControlPlane, type AuditEvent } from '../support/control-plane.js';
import { waitFor } from '../support/wait.js';

const { namespace: CONTROLLER_NAMESPACE, name: CONTROLLER_NAME } = IMAGE_CONTROLLER_DEFAULTS;
const NAMESPACE = 'kube-layer';
const dist = (file: string) => fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
const log = createLogger({ write: () => undefined });

const CONTROLLER_USER = `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_NAME}`;

const controlPlane = new ControlPlane({ auditUsers: [CONTROLLER_USER] });
let kube: KubeClient;

beforeAll(async () => {
  await controlPlane.start();
  await controlPlane.kubectl(['apply', '-f', dist('0000-image-crd.k8s.yaml')]);
  await controlPlane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/images.example.com']);
  await controlPlane.kubectl(['apply', '-f', dist('0001-image-controller.k8s.yaml')]);
  await controlPlane.kubectl(['create', 'namespace', NAMESPACE]);
  const kubeconfig = await controlPlane.serviceAccountKubeconfig(CONTROLLER_NAMESPACE, CONTROLLER_NAME);
  kube = createKubeClient(loadKubeConfig(kubeconfig));
}, 240_000);

afterAll(() => controlPlane.stop(), 60_000);

function image(name: string): Image {
  return { apiVersion: IMAGE_API_VERSION, kind: IMAGE_KIND, metadata: { name, namespace: NAMESPACE }, spec: { image: `localhost:5000/apps/${name}` } };
}

async function apply(object: object): Promise<void> {
  await controlPlane.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
}

async function getImage(name: string): Promise<Image> {
  return JSON.parse(await controlPlane.kubectl(['get', 'images.example.com', name, '-n', NAMESPACE, '-o', 'json'])) as Image;
}

describe('kube layer against a real API server', () => {
  it('lists and watches Images in all namespaces', async () => {
    await apply(image('listed'));
    const seen = new Map<string, Image>();
    let lists = 0;
    const watch = new ImageWatch({
      calls: kube,
      handlers: {
        upsert: (i) => seen.set(i.metadata.name, i),
        remove: (i) => seen.delete(i.metadata.name),
        replaceAll: (all) => {
          lists++;
          for (const i of all) seen.set(i.metadata.name, i);
        },
      },
      clock: systemClock,
      log,
    });
    watch.start();
    try {
      await watch.firstSync;
      expect(lists).toBe(1);
      expect(seen.has('listed')).toBe(true);
      await apply(image('watched'));
      await waitFor('the watch to deliver Image watched', () => seen.has('watched'));
      await controlPlane.kubectl(['delete', 'images.example.com', 'watched', '-n', NAMESPACE]);
      await waitFor('the watch to deliver the deletion', () => !seen.has('watched'));
    } finally {
      await watch.stop();
    }
  });

  it('merge-patches /status of an Image that has none yet', async () => {
    await apply(image('patched'));
    const updated = await kube.patchImageStatus(NAMESPACE, 'patched', { latestImage: `localhost:5000/apps/patched@sha256:${'a'.repeat(64)}`, complete: true });
    expect(updated?.status).toEqual({ latestImage: `localhost:5000/apps/patched@sha256:${'a'.repeat(64)}`, complete: true });
    await kube.patchImageStatus(NAMESPACE, 'patched', { digest: `sha256:${'a'.repeat(64)}` });
    expect((await getImage('patched')).status).toMatchObject({ complete: true, digest: `sha256:${'a'.repeat(64)}` });
    expect(await kube.patchImageStatus(NAMESPACE, 'missing', { complete: true })).toBeUndefined();
  });

  it('records one Event per Image and reason, counting repeats', async () => {
    await apply(image('eventful'));
    const target = await getImage('eventful');
    const recorder = new EventRecorder({ writer: kube, clock: systemClock, log, instance: 'test' });
    await recorder.record(target, { type: 'Warning', reason: 'NotFound', message: 'tag latest not found' });
    await recorder.record(target, { type: 'Warning', reason: 'NotFound', message: 'tag latest still not found' });
    const events = JSON.parse(
      await controlPlane.kubectl(['get', 'events', '-n', NAMESPACE, '--field-selector', 'involvedObject.name=eventful', '-o', 'json']),
    ) as { items: { reason: string; count: number; message: string; involvedObject: { kind: string; uid: string } }[] };
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ reason: 'NotFound', count: 2, message: 'tag latest still not found', involvedObject: { kind: 'Image', uid: target.metadata.uid } });
  });

  it('elects one leader with the Lease and releases it', async () => {
    const store = kube.leaseStore(CONTROLLER_NAMESPACE, LEASE_NAME);
    const a = new LeaderElector({ store, identity: 'replica-a', clock: systemClock, log });
    const b = new LeaderElector({ store, identity: 'replica-b', clock: systemClock, log });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    a.start();
    await waitFor('replica-a to lead', () => a.isLeader);
    await a.stop();
    expect((await store.read())?.spec?.holderIdentity).toBe('');
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('reads Secrets and the local registry hosting ConfigMap, and tells a missing one apart', async () => {
    expect(await kube.readSecret(NAMESPACE, 'absent')).toBeUndefined();
    expect(await kube.readServiceAccount(NAMESPACE, 'default')).toMatchObject({ metadata: { name: 'default' } });
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'local-registry-hosting', namespace: 'kube-public' },
      data: { 'localRegistryHosting.v1': 'host: "localhost:5000"\nhostFromClusterNetwork: "kind-registry:5000"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n' },
    });
    const endpoints = new RegistryEndpoints({ aliases: new Map(), reader: kube, inCluster: true, clock: systemClock, log });
    expect(await endpoints.endpointFor('localhost:5000')).toBe('kind-registry:5000');
    expect(await endpoints.endpointFor('ghcr.io')).toBeUndefined();
  });

  it('runs the loop: one status write for a new digest, none while it stays the same', async () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const writes: string[] = [];
    const controller = new CheckLoop({
      status: { patchImageStatus: (namespace, name, patch) => (writes.push(name), kube.patchImageStatus(namespace, name, patch)) },
      events: new EventRecorder({ writer: kube, clock: systemClock, log, instance: 'test' }),
      resolve: async (_image, spec) => ({ digest, mediaType: 'application/vnd.oci.image.index.v1+json', latestImage: spec.reference.digestReference(digest) }),
      verify: () => Promise.reject(new Error('this Image asks for no signature')),
      leadership: ALWAYS_LEADER,
      clock: systemClock,
      log,
      metrics: NO_METRICS,
      defaultIntervalMs: 1_000,
      concurrency: 4,
    });
    const watch = new ImageWatch({ calls: kube, namespace: NAMESPACE, handlers: controller, clock: systemClock, log });
    await apply(image('looped'));
    watch.start();
    try {
      await waitFor('status.latestImage', async () => (await getImage('looped')).status?.latestImage);
      await sleep(3_000); // three more checks at a 1 s interval
      // The namespace holds the other tests' Images too: each gets its one first write.
      expect(writes.filter((name) => name === 'looped')).toHaveLength(1);
      expect(writes).toHaveLength(new Set(writes).size);
      const { status } = await getImage('looped');
      expect(status).toMatchObject({ latestImage: `localhost:5000/apps/looped@${digest}`, complete: true, digest, observedGeneration: 1 });
      expect(status?.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'DigestResolved' })]);
    } finally {
      await controller.stop();
      await watch.stop();
    }
  });

  // Last: every call above has been made. A verb granted and never sent, or a request sent that no rule
  // grants, fails here with its (verb, resource) named.
  it('sends exactly the (verb, resource) pairs the rules beside its calls grant, and no others', () => {
    const grants: Grant[] = [
      ...grantsOf(CONTROLLER_RBAC.watchedNamespaces, ANY_NAMESPACE),
      ...grantsOf(CONTROLLER_RBAC.leaseNamespace, CONTROLLER_NAMESPACE),
      ...grantsOf(CONTROLLER_RBAC.localRegistryHosting, LOCAL_REGISTRY_HOSTING.namespace),
    ];
    const sent = controlPlane.auditEvents().flatMap(requestOf);
    expect(sent.length).toBeGreaterThan(0);
    const notGranted = new Set(sent.filter((request) => !grants.some((grant) => covers(grant, request))).map(describeRequest));
    const neverSent = new Set(grants.filter((grant) => !sent.some((request) => covers(grant, request))).map(describeGrant));
    expect({ notGranted: [...notGranted], neverSent: [...neverSent] }).toEqual({ notGranted: [], neverSent: [] });
  });
});

/** Where a Role grants: its namespace, or every namespace for a ClusterRole. */
const ANY_NAMESPACE = '*';

interface Grant {
  namespace: string;
  apiGroup: string;
  /** `images`, or `images/status` for a subresource. */
  resource: string;
  verb: string;
  names?: readonly string[];
}

interface Request {
  namespace?: string;
  apiGroup: string;
  resource: string;
  verb: string;
  name?: string;
  code?: number;
}

function grantsOf(rules: readonly PolicyRule[], namespace: string): Grant[] {
  return rules.flatMap((rule) =>
    rule.apiGroups.flatMap((apiGroup) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => ({ namespace, apiGroup, resource, verb, names: rule.resourceNames })))),
  );
}

/** The request an audit event records; none for non-resource URLs (discovery, /version), which RBAC grants apart. */
function requestOf(event: AuditEvent): Request[] {
  const ref = event.objectRef;
  if (!ref?.resource) return [];
  const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
  return [{ namespace: ref.namespace, apiGroup: ref.apiGroup ?? '', resource, verb: event.verb, name: ref.name, code: event.responseStatus?.code }];
}

function covers(grant: Grant, request: Request): boolean {
  return (
    grant.apiGroup === request.apiGroup &&
    grant.resource === request.resource &&
    grant.verb === request.verb &&
    (grant.namespace === ANY_NAMESPACE || grant.namespace === request.namespace) &&
    (grant.names === undefined || (request.name !== undefined && grant.names.includes(request.name)))
  );
}

/** `images.example.com/status`, as kubectl names a resource. */
function qualified(resource: string, apiGroup: string): string {
  const [plural, subresource] = resource.split('/');
  return `${plural}${apiGroup ? `.${apiGroup}` : ''}${subresource ? `/${subresource}` : ''}`;
}

function describeRequest(request: Request): string {
  const where = request.namespace ? ` in ${request.namespace}` : ' (all namespaces)';
  return `${request.verb} ${qualified(request.resource, request.apiGroup)}${request.name ? ` ${request.name}` : ''}${where}: HTTP ${request.code ?? '?'}`;
}

function describeGrant(grant: Grant): string {
  const where = grant.namespace === ANY_NAMESPACE ? 'cluster-wide' : `in ${grant.namespace}`;
  return `${grant.verb} ${qualified(grant.resource, grant.apiGroup)}${grant.names ? ` ${grant.names.join(',')}` : ''} ${where}`;
}
