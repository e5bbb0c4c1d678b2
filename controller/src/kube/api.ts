/**
 * The calls the controller makes to the API server, each beside the RBAC rule it needs (as Flux keeps
 * its kubebuilder RBAC markers beside its reconcilers). Each consumer gets an interface with just its
 * calls, so tests inject a small fake; client.ts implements them all. The chart's ClusterRole and Roles
 * are CONTROLLER_RBAC, imported from here (charts/image-controller.ts), and the kube-layer integration
 * test records the requests the real calls send to a real API server and compares them with these rules
 * both ways. This module loads no client-node code, so the chart can import it.
 */
import type { CoreV1Event, V1ConfigMap, V1Lease, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { IMAGE_GROUP, IMAGE_PLURAL, type Image, type ImageStatus } from '../api/image.js';
import { LEASE_NAME } from '../defaults.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** An RBAC PolicyRule, shaped as the chart's k8s.PolicyRule. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly Verb[];
}

/** A page of Images as the list call returns it: its resourceVersion is where a watch starts. */
export interface ImageList {
  items: Image[];
  metadata?: { resourceVersion?: string };
}

/** The end of a watch: a Status error, or nothing when the server or the client's inactivity timeout ended it. */
export type WatchEnd = (error: unknown) => void;

/**
 * The two calls of a watch of Images (image-watch.ts), in `namespace` or in all namespaces. Images arrive
 * as plain JSON (timestamps stay strings), trimmed to what the controller reads (client.ts's cachedImage).
 */
export interface ImageWatchCalls {
  listImages(namespace?: string): Promise<ImageList>;
  /**
   * Watches from `resourceVersion`, with bookmarks: `onEvent` gets each event's type (ADDED, MODIFIED,
   * DELETED, BOOKMARK, ERROR) and object, `onEnd` is called once when the watch ends. Resolves once it is open.
   */
  watchImages(namespace: string | undefined, resourceVersion: string, onEvent: (type: string, object: unknown) => void, onEnd: WatchEnd): Promise<{ abort(): void }>;
}

export const IMAGE_WATCH_RULES: readonly PolicyRule[] = [
  // Images are listed, then watched from the list's resourceVersion, in every namespace or in --namespace.
  { apiGroups: [IMAGE_GROUP], resources: [IMAGE_PLURAL], verbs: ['list', 'watch'] },
];

export interface ImageStatusWriter {
  /** Merge-patches `/status`; resolves to the updated Image, or undefined when it no longer exists. */
  patchImageStatus(namespace: string, name: string, patch: Partial<ImageStatus>): Promise<Image | undefined>;
}

export const IMAGE_STATUS_RULES: readonly PolicyRule[] = [
  // Status is written with a merge patch to the status subresource, never the spec.
  { apiGroups: [IMAGE_GROUP], resources: [`${IMAGE_PLURAL}/status`], verbs: ['patch'] },
];

/** KEP-1755: where a local registry (kind's localhost:5000) is reachable from inside the cluster. */
export const LOCAL_REGISTRY_HOSTING = { namespace: 'kube-public', name: 'local-registry-hosting', key: 'localRegistryHosting.v1' } as const;

export interface ObjectReader {
  /** Each resolves to undefined on 404; other failures (403, network) reject. */
  readSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  readServiceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>;
  /** Only LOCAL_REGISTRY_HOSTING is read, and only it is granted. */
  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

export const OBJECT_READER_RULES: readonly PolicyRule[] = [
  // The dockerconfigjson pull secrets and the CA Secret an Image names, read on demand by name.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  // The imagePullSecrets of an Image's spec.serviceAccountName.
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
];

export const LOCAL_REGISTRY_HOSTING_RULES: readonly PolicyRule[] = [
  // Only that one ConfigMap, by name, read on demand: where the registry is reachable in the cluster.
  { apiGroups: [''], resources: ['configmaps'], resourceNames: [LOCAL_REGISTRY_HOSTING.name], verbs: ['get'] },
];

export interface EventWriter {
  createEvent(namespace: string, event: CoreV1Event): Promise<CoreV1Event>;
  /** Merge-patches an Event; resolves to undefined when it has expired (404). */
  patchEvent(namespace: string, name: string, patch: Partial<CoreV1Event>): Promise<CoreV1Event | undefined>;
}

export const EVENT_WRITER_RULES: readonly PolicyRule[] = [
  // Events for a new digest and for failures; patch lets repeated events be counted instead of duplicated.
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** One Lease object; `replace` carries the read resourceVersion, so a concurrent writer makes it reject with 409. */
export interface LeaseStore {
  read(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  replace(lease: V1Lease): Promise<V1Lease>;
}

export const LEASE_STORE_RULES: readonly PolicyRule[] = [
  // The controller's Lease is read, then renewed, taken over and released by update.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEASE_NAME], verbs: ['get', 'update'] },
  // The first replica creates it; RBAC cannot limit create by name, since the object does not exist yet.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
];

export interface KubeClient extends ImageWatchCalls, ImageStatusWriter, ObjectReader, EventWriter {
  leaseStore(namespace: string, name: string): LeaseStore;
}

/** Everything the controller's calls need, by where it is granted. */
export const CONTROLLER_RBAC = {
  /** In every namespace whose Images are watched (a ClusterRole for all of them). */
  watchedNamespaces: [...IMAGE_WATCH_RULES, ...IMAGE_STATUS_RULES, ...EVENT_WRITER_RULES, ...OBJECT_READER_RULES],
  /** In the Lease's namespace, with --leader-elect. */
  leaseNamespace: LEASE_STORE_RULES,
  /** In LOCAL_REGISTRY_HOSTING's namespace. */
  localRegistryHosting: LOCAL_REGISTRY_HOSTING_RULES,
} as const;
