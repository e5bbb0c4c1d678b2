/**
 * What an Image needs from the cluster to talk to its registry: credentials from `spec.pullSecrets` and
 * the `spec.serviceAccountName`'s imagePullSecrets (kubelet's sources), and a CA from `spec.caSecretRef`.
 * Every problem is a CredentialsError (reason CredentialsUnavailable) whose message names the object,
 * says what is wrong and how to fix it.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { Image } from '../api/image.js';
import type { Clock } from '../clock.js';
import { SharedRequests } from '../shared-requests.js';
import { CredentialsError, credentialsFor, parseDockerConfig, type DockerConfig, type RegistryCredentials } from '../registry/index.js';
import { apiStatus, type ObjectReader } from './client.js';

export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
export const CA_KEY = 'ca.crt';

export interface RegistryAccess {
  credentials?: RegistryCredentials;
  /** Where the credentials came from, or which secrets had none for this registry, for the registry's error messages. */
  credentialSource?: string;
  caPem?: string;
}

/** Gathers the credentials and CA `image` needs for `registry` (the host as written in spec.image). */
export async function loadRegistryAccess(reader: ObjectReader, image: Image, registry: string): Promise<RegistryAccess> {
  const namespace = image.metadata.namespace ?? 'default';
  const sources = await pullSecretSources(reader, image, namespace);
  const access: RegistryAccess = {};
  for (const { name, origin } of sources) {
    const secret = await readOrExplain(reader, namespace, name, origin);
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
    const credentials = credentialsFor(config, registry);
    if (credentials) {
      access.credentials = credentials;
      access.credentialSource = `Secret "${name}" (${origin})`;
      break;
    }
  }
  if (!access.credentials && sources.length > 0) {
    // Read by the registry's 401 message as "… and <source> has no entry for <registry>".
    access.credentialSource = sources.map((s) => `Secret "${s.name}"`).join(', ');
  }
  const caRef = image.spec.caSecretRef;
  if (caRef) {
    const secret = await readOrExplain(reader, namespace, caRef.name, 'spec.caSecretRef');
    const encoded = secret.data?.[CA_KEY];
    if (!encoded) throw unavailable(`Secret "${caRef.name}" (spec.caSecretRef) has no ${CA_KEY} key; put the registry's CA certificate there (kubectl create secret generic ${caRef.name} -n ${namespace} --from-file=${CA_KEY}=…)`);
    const pem = Buffer.from(encoded, 'base64').toString('utf8');
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) {
      throw unavailable(`Secret "${caRef.name}" (spec.caSecretRef) key ${CA_KEY} is not a PEM certificate; it must contain -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----`);
    }
    access.caPem = pem;
  }
  return access;
}

async function pullSecretSources(reader: ObjectReader, image: Image, namespace: string): Promise<{ name: string; origin: string }[]> {
  const sources = (image.spec.pullSecrets ?? []).map(({ name }) => ({ name, origin: 'spec.pullSecrets' }));
  const accountName = image.spec.serviceAccountName;
  if (accountName) {
    const account = await readExplaining(
      () => reader.readServiceAccount(namespace, accountName),
      `ServiceAccount "${accountName}" (spec.serviceAccountName) in namespace "${namespace}"`,
    );
    if (!account) throw unavailable(`ServiceAccount "${accountName}" (spec.serviceAccountName) does not exist in namespace "${namespace}"; create it or remove spec.serviceAccountName`);
    for (const { name } of account.imagePullSecrets ?? []) {
      if (name) sources.push({ name, origin: `imagePullSecrets of ServiceAccount "${accountName}"` });
    }
  }
  return sources;
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

/**
 * Shares reads of the same Secret or ServiceAccount for `ttlMs`, so 1,000 Images naming one pull secret
 * do not read it 1,000 times per interval (the controller may only `get` Secrets, not watch them).
 */
export function cachedObjectReader(reader: ObjectReader, clock: Clock, ttlMs: number): ObjectReader {
  const reads = new SharedRequests<unknown>(clock);
  const cached =
    <T>(kind: string, read: (namespace: string, name: string) => Promise<T>) =>
    (namespace: string, name: string) =>
      reads.run(`${kind}/${namespace}/${name}`, clock.now() - ttlMs, () => read(namespace, name)) as Promise<T>;
  return {
    readSecret: cached('Secret', (ns, n) => reader.readSecret(ns, n)),
    readServiceAccount: cached('ServiceAccount', (ns, n) => reader.readServiceAccount(ns, n)),
    readConfigMap: cached('ConfigMap', (ns, n) => reader.readConfigMap(ns, n)),
  };
}
