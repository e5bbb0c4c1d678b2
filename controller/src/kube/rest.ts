/**
 * The API server's REST calls the controller makes, sent with undici and authenticated by client-node's
 * KubeConfig (certificates, tokens, exec and auth-provider plugins, proxies).
 *
 * Why not client-node's generated API classes: importing any of them loads all of its generated models
 * (the ObjectSerializer's type map names every one), about 1 MB of the 2 MB bundle. Measured on the
 * idle controller bundle: 75 MiB RSS and 15 MiB of live heap with them, 65 MiB and 12 MiB without
 * (bench/RESULTS.md). The controller makes a dozen calls on plain JSON, so it sends them itself.
 */
import { RequestContext, HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';

/** A refusal from the API server, shaped like client-node's ApiException (`code`, `body`) so one reader serves both. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    /** The response body as text: a Status object's JSON, or whatever a proxy sent. */
    readonly body: string,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: HTTP ${code}`);
  }
}

export type MergePatch = { contentType: 'application/merge-patch+json' };
export const MERGE_PATCH: MergePatch = { contentType: 'application/merge-patch+json' };

/** The most of an error body kept (a Status is a few hundred bytes; a proxy's page is cut). */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

export interface KubeRest {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown, strategy: MergePatch): Promise<T>;
}

export function kubeRest(config: KubeConfig): KubeRest {
  const send = async <T>(method: keyof typeof HttpMethod, path: string, body?: unknown, contentType = 'application/json'): Promise<T> => {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    // The same authentication client-node's own calls and its Watch get: headers plus a dispatcher
    // holding the cluster's CA, client certificate and proxy (shared across calls by shareDispatchers).
    const context = new RequestContext(cluster.server + path, HttpMethod[method]);
    await config.applySecurityAuthentication(context);
    const headers: Record<string, string> = { ...context.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    const response = await request(context.getUrl(), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: context.getDispatcher() as Dispatcher | undefined,
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) throw new ApiError(response.statusCode, text.slice(0, MAX_ERROR_BODY_CHARS), method, path);
    return JSON.parse(text) as T;
  };
  return {
    get: (path) => send('GET', path),
    post: (path, body) => send('POST', path, body),
    put: (path, body) => send('PUT', path, body),
    patch: (path, body, strategy) => send('PATCH', path, body, strategy.contentType),
  };
}
