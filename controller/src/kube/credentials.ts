/**
 * What an Image needs from the cluster to talk to its registry: credentials from `spec.pullSecrets` and
 * the `spec.serviceAccountName`'s imagePullSecrets (kubelet's sources), and a CA from `spec.caSecretRef`.
 * Every problem is a CredentialsError (reason CredentialsUnavailable) whose message names the object,
 * says what is wrong and how to fix it.
 *
 * Secrets are tenants' objects, up to 1 MiB each and of any type, and the controller may only `get`
 * them (no watch), so reads are cached for a short while, but only what was parsed out of them: the
 * credentials for the one registry asked about, a CA's PEM, a ServiceAccount's pull secret names, or
 * why they are unusable. The cache is bounded in entries, bytes and age.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import { imageNamespace, type Image } from '../api/image.js';
import { lruClock, type Clock } from '../clock.js';
import { CredentialsError, credentialsFor, parseDockerConfig, type DockerConfig, type RegistryCredentials } from '../registry/index.js';
import type { ObjectReader } from './api.js';
import { apiStatus } from './client.js';

export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
export const CA_KEY = 'ca.crt';

export interface RegistryAccess {
  credentials?: RegistryCredentials;
  /** Where the credentials came from, or which secrets had none for this registry, for the registry's error messages. */
  credentialSource?: string;
  caPem?: string;
}

export interface RegistryAccessCacheOptions {
  reader: ObjectReader;
  clock: Clock;
  /** How long what was read from a Secret or ServiceAccount is reused. */
  ttlMs: number;
  /** Most entries kept. @default 4096 */
  maxEntries?: number;
  /** Most bytes of parsed credentials, PEMs and names kept. @default 4 MiB */
  maxBytes?: number;
}

/** A CA bundle beyond this is not a registry's CA; it is refused rather than kept. */
export const MAX_CA_BYTES = 64 * 1024;

/** A cached outcome: what was parsed, or why it was unusable; `size` counts its bytes. */
type Outcome = { value: unknown; size: number } | { error: CredentialsError; size: number };

/**
 * Gathers the credentials and CA an Image needs for a registry (the host as written in spec.image), from
 * `spec.pullSecrets`, the `spec.serviceAccountName`'s imagePullSecrets and `spec.caSecretRef`. 1,000
 * Images naming one pull secret read it once per `ttlMs`.
 */
export class RegistryAccessCache {
  readonly #reader: ObjectReader;
  /** Outcomes by what was read; a read in flight is shared by every Image asking meanwhile (lru-cache's fetch). */
  readonly #outcomes: LRUCache<string, Outcome, () => Promise<unknown>>;

  constructor(options: RegistryAccessCacheOptions) {
    this.#reader = options.reader;
    this.#outcomes = new LRUCache({
      max: options.maxEntries ?? 4096,
      maxSize: options.maxBytes ?? 4 * 1024 * 1024,
      sizeCalculation: (outcome) => outcome.size,
      ttl: options.ttlMs,
      ...lruClock(options.clock),
      // A CredentialsError is an outcome, kept and thrown like a value; any other failure is not kept.
      fetchMethod: async (key, _stale, { context: read }) => {
        try {
          const value = await read();
          return { value, size: key.length + sizeOf(value) };
        } catch (error) {
          if (!(error instanceof CredentialsError)) throw error;
          return { error, size: key.length + error.message.length };
        }
      },
    });
  }

  /** How many parsed outcomes are kept, for tests of the bound. */
  get size(): number {
    return this.#outcomes.size;
  }

  async load(image: Image, registry: string): Promise<RegistryAccess> {
    const namespace = imageNamespace(image);
    const sources = await this.#pullSecretSources(image, namespace);
    const access: RegistryAccess = {};
    for (const { name, origin } of sources) {
      const credentials = await this.#cached(`pull/${namespace}/${name}/${registry}`, () => this.#readCredentials(namespace, name, origin, registry));
      if (credentials) {
        access.credentials = credentials as RegistryCredentials;
        access.credentialSource = `Secret "${name}" (${origin})`;
        break;
      }
    }
    if (!access.credentials && sources.length > 0) {
      // Read by the registry's 401 message as "… and <source> has no entry for <registry>".
      access.credentialSource = sources.map((s) => `Secret "${s.name}"`).join(', ');
    }
    const caRef = image.spec.caSecretRef;
    if (caRef) access.caPem = (await this.#cached(`ca/${namespace}/${caRef.name}`, () => this.#readCa(namespace, caRef.name))) as string;
    return access;
  }

  /**
   * The data of Secret `name` in `namespace` (base64 values, as the API server sends them), or undefined
   * when it does not exist; read at most once per ttl. `origin` says who names it, for messages.
   */
  async secretData(namespace: string, name: string, origin: string): Promise<Record<string, string> | undefined> {
    const read = async () => (await readExplaining(() => this.#reader.readSecret(namespace, name), `Secret "${name}" (${origin}) in namespace "${namespace}"`))?.data ?? null;
    return ((await this.#cached(`data/${namespace}/${name}`, read)) as Record<string, string> | null) ?? undefined;
  }

  /** The outcome for `key`, read at most once per ttl (one larger than the whole budget is read each time). */
  async #cached(key: string, read: () => Promise<unknown>): Promise<unknown> {
    const outcome = (await this.#outcomes.fetch(key, { context: read }))!;
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  async #readCredentials(namespace: string, name: string, origin: string, registry: string): Promise<RegistryCredentials | undefined> {
    const secret = await readOrExplain(this.#reader, namespace, name, origin);
    if (secret.type !== DOCKER_CONFIG_JSON_TYPE) {
      throw unavailable(
        `Secret "${name}" (${origin}) has type ${secret.type ?? 'Opaque'}; a pull secret must be ${DOCKER_CONFIG_JSON_TYPE}: recreate it with kubectl create secret docker-registry ${name} -n ${namespace} --docker-server=${registry} …`,
      );
    }
    const encoded = secret.data?.[DOCKER_CONFIG_JSON_KEY];
    if (!encoded) throw unavailable(`Secret "${name}" (${origin}) has no ${DOCKER_CONFIG_JSON_KEY} key; recreate it with kubectl create secret docker-registry`);
    let config: DockerConfig;
    try {
      config = parseDockerConfig(Buffer.from(encoded, 'base64').toString('utf8'), `Secret "${name}" (${origin}) key ${DOCKER_CONFIG_JSON_KEY}`);
    } catch (error) {
      throw unavailable(`${(error as Error).message}; recreate it with kubectl create secret docker-registry ${name} -n ${namespace}`);
    }
    return credentialsFor(config, registry);
  }

  async #readCa(namespace: string, name: string): Promise<string> {
    const secret = await readOrExplain(this.#reader, namespace, name, 'spec.caSecretRef');
    const encoded = secret.data?.[CA_KEY];
    if (!encoded) throw unavailable(`Secret "${name}" (spec.caSecretRef) has no ${CA_KEY} key; put the registry's CA certificate there (kubectl create secret generic ${name} -n ${namespace} --from-file=${CA_KEY}=…)`);
    const pem = Buffer.from(encoded, 'base64').toString('utf8');
    if (pem.length > MAX_CA_BYTES) throw unavailable(`Secret "${name}" (spec.caSecretRef) key ${CA_KEY} is larger than ${MAX_CA_BYTES / 1024} KiB; it should hold the registry's CA certificate only`);
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
      throw unavailable(`Secret "${name}" (spec.caSecretRef) key ${CA_KEY} is not a PEM certificate; it must contain -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----`);
    }
    return pem;
  }

  async #pullSecretSources(image: Image, namespace: string): Promise<{ name: string; origin: string }[]> {
    const sources = (image.spec.pullSecrets ?? []).map(({ name }) => ({ name, origin: 'spec.pullSecrets' }));
    const accountName = image.spec.serviceAccountName;
    if (accountName) {
      const origin = `imagePullSecrets of ServiceAccount "${accountName}"`;
      const names = (await this.#cached(`sa/${namespace}/${accountName}`, () => this.#readPullSecretNames(namespace, accountName))) as string[];
      for (const name of names) sources.push({ name, origin });
    }
    return sources;
  }

  async #readPullSecretNames(namespace: string, accountName: string): Promise<string[]> {
    const account = await readExplaining(
      () => this.#reader.readServiceAccount(namespace, accountName),
      `ServiceAccount "${accountName}" (spec.serviceAccountName) in namespace "${namespace}"`,
    );
    if (!account) throw unavailable(`ServiceAccount "${accountName}" (spec.serviceAccountName) does not exist in namespace "${namespace}"; create it or remove spec.serviceAccountName`);
    return (account.imagePullSecrets ?? []).flatMap(({ name }) => (name ? [name] : []));
  }
}

/** Bytes of what is kept: strings, and the strings inside arrays and credentials. */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + sizeOf(item), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((sum: number, item) => sum + sizeOf(item), 0);
  return 8;
}

async function readOrExplain(reader: ObjectReader, namespace: string, name: string, origin: string): Promise<V1Secret> {
  const secret = await readExplaining(() => reader.readSecret(namespace, name), `Secret "${name}" (${origin}) in namespace "${namespace}"`);
  if (!secret) throw unavailable(`Secret "${name}" (${origin}) does not exist in namespace "${namespace}"; create it or remove it from ${origin}`);
  return secret;
}

async function readExplaining<T>(read: () => Promise<T>, what: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const status = apiStatus(error);
    if (status === 403) throw unavailable(`the controller may not read ${what} (403 Forbidden); its ClusterRole must grant get on secrets and serviceaccounts`);
    throw unavailable(`could not read ${what}: ${status ? `HTTP ${status}` : error instanceof Error ? error.message : String(error)}; the controller retries`);
  }
}

function unavailable(message: string): CredentialsError {
  return new CredentialsError(message);
}
