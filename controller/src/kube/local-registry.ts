/**
 * Which host to contact for a registry the Image names. In a kind cluster the registry is
 * `localhost:5000` for the nodes' container runtime but another host for a pod; KEP-1755 publishes that
 * in the `kube-public/local-registry-hosting` ConfigMap. `--registry-alias from=to` says it by hand and
 * wins. The Image's status still names the registry as written, which is what the kubelet pulls.
 */
import { load as loadYaml } from 'js-yaml';
import { LRUCache } from 'lru-cache';
import { lruClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { LOCAL_REGISTRY_HOSTING, type ObjectReader } from './api.js';

/** KEP-1755's `localRegistryHosting.v1`. */
export interface LocalRegistryHosting {
  /** The registry as the container runtime (and so every Image reference) names it, e.g. `localhost:5000`. */
  host?: string;
  /** The same registry as a pod reaches it. */
  hostFromClusterNetwork?: string;
  /** The same registry as the nodes' container runtime reaches it. */
  hostFromContainerRuntime?: string;
  help?: string;
}

/** Parses `localRegistryHosting.v1`; undefined when it is not a YAML mapping. */
export function parseLocalRegistryHosting(text: string): LocalRegistryHosting | undefined {
  let parsed: unknown;
  try {
    parsed = loadYaml(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const hosting: LocalRegistryHosting = {};
  for (const key of ['host', 'hostFromClusterNetwork', 'hostFromContainerRuntime', 'help'] as const) {
    const value = (parsed as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '') hosting[key] = value;
  }
  return hosting;
}

/** `from=to` as given to `--registry-alias`; throws with a usage message otherwise. */
export function parseRegistryAlias(text: string): [from: string, to: string] {
  const match = /^([^=\s/]+)=([^=\s/]+)$/.exec(text);
  if (!match) throw new Error(`--registry-alias "${text}" must be from=to, two host[:port] values, e.g. localhost:5000=kind-registry:5000`);
  return [match[1]!.toLowerCase(), match[2]!];
}

export interface RegistryEndpointsOptions {
  /** `--registry-alias` pairs. */
  aliases: ReadonlyMap<string, string>;
  reader: ObjectReader;
  /** In a pod, the ConfigMap's `hostFromClusterNetwork` applies; on a workstation `host` is reachable as is. */
  inCluster: boolean;
  clock: Clock;
  log: Logger;
  /** How long the ConfigMap is trusted before it is read again. @default 5 min */
  refreshMs?: number;
}

export class RegistryEndpoints {
  readonly #options: RegistryEndpointsOptions;
  /** The ConfigMap as last read (wrapped: a missing one is an answer too), and a read in flight shared. */
  readonly #hosting: LRUCache<'hosting', { hosting: LocalRegistryHosting | undefined }>;

  constructor(options: RegistryEndpointsOptions) {
    this.#options = options;
    this.#hosting = new LRUCache({
      max: 1,
      ttl: options.refreshMs ?? 5 * 60_000,
      ...lruClock(options.clock),
      fetchMethod: async () => ({ hosting: await this.#readHosting() }),
    });
  }

  /** The host[:port] to contact for `registry`, or undefined to contact it as named. */
  async endpointFor(registry: string): Promise<string | undefined> {
    const { aliases, inCluster } = this.#options;
    const alias = aliases.get(registry.toLowerCase());
    if (alias || !inCluster) return alias;
    const { hosting } = (await this.#hosting.fetch('hosting'))!;
    if (!hosting?.host || hosting.host.toLowerCase() !== registry.toLowerCase()) return undefined;
    return hosting.hostFromClusterNetwork ?? hosting.hostFromContainerRuntime;
  }

  async #readHosting(): Promise<LocalRegistryHosting | undefined> {
    const { reader, log } = this.#options;
    const { namespace, name, key } = LOCAL_REGISTRY_HOSTING;
    try {
      const text = (await reader.readConfigMap(namespace, name))?.data?.[key];
      const hosting = text === undefined ? undefined : parseLocalRegistryHosting(text);
      if (text !== undefined && !hosting) log.warn('ignoring a malformed local registry hosting ConfigMap', { namespace, name, key });
      return hosting;
    } catch (error) {
      // A cluster without a local registry is the common case; without RBAC for it, fall back the same way.
      log.debug('no local registry hosting ConfigMap', { namespace, name, error: String(error) });
      return undefined;
    }
  }
}
