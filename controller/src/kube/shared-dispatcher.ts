/**
 * client-node 2.0.1 builds a new undici Agent for every API call (KubeConfig.createDispatcher is not
 * cached), so every status patch, Event and Lease renewal opened its own TLS connection, with a TLS
 * handshake and a TLS context of its own kept in native memory until collected: about 150 KB of RSS
 * per call at startup. Here calls with the same TLS settings share one Agent and its keep-alive pool.
 */
import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';

type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

/** Makes `config` hand out one shared Agent per distinct TLS setting (a rotated certificate gets a new one). */
export function shareDispatchers(config: KubeConfig): KubeConfig {
  // A private method in client-node's typings, so this is checked when the pinned version changes.
  const internals = config as unknown as { createDispatcher?: CreateDispatcher };
  const create = internals.createDispatcher;
  if (typeof create !== 'function') throw new Error('@kubernetes/client-node has no KubeConfig.createDispatcher: recheck shareDispatchers');
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  internals.createDispatcher = (cluster, agentOptions) => {
    const key = fingerprint(config.createDispatcherOptions(cluster, agentOptions));
    if (current?.key !== key) {
      // Requests still using the previous Agent (a watch) finish on it; close() waits for them.
      void current?.dispatcher?.close().catch(() => undefined);
      current = { key, dispatcher: create.call(config, cluster, agentOptions) };
    }
    return current.dispatcher;
  };
  return config;
}

/** A string that differs when any TLS or proxy setting differs; secrets in it are hashed. */
function fingerprint(value: unknown): string {
  if (Buffer.isBuffer(value)) return `sha256:${createHash('sha256').update(value).digest('hex')}`;
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${k}:${fingerprint((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return typeof value === 'string' ? `sha256:${createHash('sha256').update(value).digest('hex')}` : String(value);
}
