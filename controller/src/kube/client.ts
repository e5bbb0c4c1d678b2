/**
 * The calls of api.ts, made: REST calls on plain JSON (rest.ts) authenticated by client-node 2.x's
 * KubeConfig, and its Watch; and how a refusal from the API server reads.
 */
import { KubeConfig, Watch, type CoreV1Event, type V1ConfigMap, type V1Lease, type V1Secret, type V1ServiceAccount } from '@kubernetes/client-node';
import { IMAGE_API_VERSION, IMAGE_GROUP, IMAGE_KIND, IMAGE_PLURAL, IMAGE_VERSION, type Image } from '../api/image.js';
import type { ImageList, KubeClient } from './api.js';
import { kubeRest, MERGE_PATCH } from './rest.js';
import { shareDispatchers } from './shared-dispatcher.js';

/** The HTTP status of an ApiError (or a client-node ApiException: both have `.code`), if `error` is one. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Why the API server refused a request, as a person reads it: HTTP status, Status reason and message. */
export interface ApiRefusal {
  /** HTTP status; undefined when there was no answer (network). */
  code?: number;
  /** The Status `reason` (`Forbidden`, `NotFound`, …), or the error's name. */
  reason: string;
  /** The Status `message`: for a 403 it names the user, verb, resource and API group that RBAC refused. */
  message: string;
}

/**
 * Reads the Status body out of an ApiError (or a client-node ApiException, whose own message is a dump
 * of body and headers); any other error keeps its message.
 */
export function describeApiError(error: unknown): ApiRefusal {
  // A failed watch reports the HTTP status as `statusCode`, not as an ApiException's `code`.
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  const code = apiStatus(error) ?? (typeof statusCode === 'number' ? statusCode : undefined);
  let body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // Not a Status: a proxy's HTML page, say; the text itself is the message.
    }
  }
  const status = typeof body === 'object' && body !== null ? (body as { reason?: unknown; message?: unknown }) : {};
  const fallback = typeof body === 'string' && body.trim() !== '' ? body.trim() : error instanceof Error ? error.message : String(error);
  return {
    code,
    reason: typeof status.reason === 'string' ? status.reason : code === undefined ? (error instanceof Error ? error.name : 'Error') : `HTTP ${code}`,
    message: typeof status.message === 'string' ? status.message : fallback,
  };
}

/**
 * The part of an Image the controller reads, made as the Image enters the cache: the API server's
 * `managedFields` and the annotations (kubectl's last-applied-configuration is a second copy of the
 * object) are most of a cached Image's memory and never read. Spec and status are kept whole (the
 * resolver reads the spec, reconcile diffs the status); uid, generation and resourceVersion tell
 * recreations, spec changes and Event subjects apart.
 */
export function cachedImage(image: Image): Image {
  const { name, namespace, uid, generation, resourceVersion } = image.metadata;
  const cached: Image = { apiVersion: IMAGE_API_VERSION, kind: IMAGE_KIND, metadata: { name, namespace, uid, generation, resourceVersion }, spec: image.spec };
  if (image.status !== undefined) cached.status = image.status;
  return cached;
}

/** Watch events whose object is an Image; ERROR carries a Status and BOOKMARK only a resourceVersion. */
const IMAGE_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

async function orUndefinedIfGone<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

/** Loads `--kubeconfig` when given, else in-cluster, $KUBECONFIG or ~/.kube/config, as kubectl does. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}

export function createKubeClient(config: KubeConfig): KubeClient {
  shareDispatchers(config);
  const rest = kubeRest(config);
  const watch = new Watch(config);
  const ns = (namespace: string) => `/namespaces/${encodeURIComponent(namespace)}`;
  /** The path of one object under a collection's, or the collection's own. */
  const item = (name?: string) => (name === undefined ? '' : `/${encodeURIComponent(name)}`);
  const images = (namespace?: string, name?: string) => `/apis/${IMAGE_GROUP}/${IMAGE_VERSION}${namespace ? ns(namespace) : ''}/${IMAGE_PLURAL}${item(name)}`;
  const core = (namespace: string, plural: string, name?: string) => `/api/v1${ns(namespace)}/${plural}${item(name)}`;
  const leases = (namespace: string, name?: string) => `/apis/coordination.k8s.io/v1${ns(namespace)}/leases${item(name)}`;
  return {
    async listImages(namespace) {
      const listed = await rest.get<ImageList>(images(namespace));
      return { ...listed, items: listed.items.map(cachedImage) };
    },
    watchImages: (namespace, resourceVersion, onEvent, onEnd) =>
      watch.watch(
        images(namespace),
        { resourceVersion, allowWatchBookmarks: true },
        (type, object) => onEvent(type, IMAGE_EVENTS.has(type) ? cachedImage(object as Image) : object),
        onEnd,
      ),
    patchImageStatus: (namespace, name, status) =>
      // Merge patch, not JSON Patch, which fails on an Image without /status yet. On the /status
      // subresource the patch is still of the whole object: only `.status` is kept.
      orUndefinedIfGone(rest.patch<Image>(`${images(namespace, name)}/status`, { status }, MERGE_PATCH)).then(
        (updated) => updated && cachedImage(updated),
      ),
    readSecret: (namespace, name) => orUndefinedIfGone(rest.get<V1Secret>(core(namespace, 'secrets', name))),
    readServiceAccount: (namespace, name) => orUndefinedIfGone(rest.get<V1ServiceAccount>(core(namespace, 'serviceaccounts', name))),
    readConfigMap: (namespace, name) => orUndefinedIfGone(rest.get<V1ConfigMap>(core(namespace, 'configmaps', name))),
    createEvent: (namespace, body) => rest.post<CoreV1Event>(core(namespace, 'events'), body),
    patchEvent: (namespace, name, body) => orUndefinedIfGone(rest.patch<CoreV1Event>(core(namespace, 'events', name), body, MERGE_PATCH)),
    leaseStore: (namespace, name) => ({
      read: () => orUndefinedIfGone(rest.get<V1Lease>(leases(namespace, name))),
      create: (body) => rest.post<V1Lease>(leases(namespace), body),
      replace: (body) => rest.put<V1Lease>(leases(namespace, name), body),
    }),
  };
}
