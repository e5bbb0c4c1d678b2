/**
 * Registry credentials from `.dockerconfigjson` content: a `kubernetes.io/dockerconfigjson` pull secret
 * or a `~/.docker/config.json`. Credential helpers (`credsStore`, `credHelpers`) are not consulted.
 */
import { CredentialsError } from './errors.js';
import { DOCKER_HUB_ENDPOINT, DOCKER_HUB_REGISTRY } from './reference.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token service instead of the password. */
  identityToken?: string;
}

/** Credentials by registry host, keys normalized so a lookup by `ImageReference.registry` finds them. */
export type DockerConfig = ReadonlyMap<string, RegistryCredentials>;

/** Every name Docker Hub goes by in an `auths` key; `docker login` writes `https://index.docker.io/v1/`. */
const DOCKER_HUB_KEYS = new Set(['docker.io', DOCKER_HUB_REGISTRY, DOCKER_HUB_ENDPOINT]);

/**
 * Parses `.dockerconfigjson` content. `source` names where it came from (`pull secret "regcred"`) for
 * messages. Malformed content is a `CredentialsError`, never silently anonymous; its message never quotes
 * the content, which holds the credentials.
 */
export function parseDockerConfig(content: string, source: string): DockerConfig {
  const unusable = (why: string) => new CredentialsError(`${source} ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    // V8's message quotes the text around the fault, which may be a password.
    throw unusable('is not valid JSON');
  }
  if (!isObject(parsed)) throw unusable('is not a JSON object');
  if (parsed.auths === undefined) return new Map();
  if (!isObject(parsed.auths)) throw unusable('has an "auths" that is not an object');

  const config = new Map<string, RegistryCredentials>();
  for (const [key, entry] of Object.entries(parsed.auths)) {
    if (!isObject(entry)) throw unusable(`has an entry for ${JSON.stringify(key)} that is not an object`);
    const credentials: RegistryCredentials = {};
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw unusable(`has an "auth" for ${JSON.stringify(key)} that is not base64 of user:password`);
      credentials.username = decoded.slice(0, colon);
      credentials.password = decoded.slice(colon + 1);
    }
    if (typeof entry.username === 'string') credentials.username = entry.username;
    if (typeof entry.password === 'string') credentials.password = entry.password;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      credentials.identityToken = entry.identitytoken;
    }
    const host = normalizeRegistryKey(key);
    // The first entry for a host wins, as in Docker, when a config names it twice (`host` and `https://host`).
    if (!config.has(host)) config.set(host, credentials);
  }
  return config;
}

/** The credentials for a registry (`ImageReference.registry`), or undefined when the config has none. */
export function credentialsFor(config: DockerConfig, registry: string): RegistryCredentials | undefined {
  const credentials = config.get(normalizeRegistryKey(registry));
  const usable = credentials && (credentials.identityToken || credentials.username || credentials.password);
  return usable ? credentials : undefined;
}

/** `https://host:5000/v1/` and `HOST:5000` are both `host:5000`; every Docker Hub name is `index.docker.io`. */
function normalizeRegistryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0].toLowerCase();
  return DOCKER_HUB_KEYS.has(host) ? DOCKER_HUB_REGISTRY : host;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
