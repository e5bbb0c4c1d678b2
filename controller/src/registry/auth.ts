/**
 * Registry authentication: `WWW-Authenticate` challenges, and the token exchange of the distribution
 * token spec (docs/spec/auth/token.md) with tokens cached until shortly before they expire.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { lruClock, type Clock } from '../clock.js';
import type { RegistryCredentials } from './docker-config.js';

/**
 * The longest `WWW-Authenticate` read. Real challenges (realm, service, scope) are a few hundred bytes;
 * a registry sending more is refused rather than parsed and remembered.
 */
export const MAX_CHALLENGE_BYTES = 4096;
/**
 * The longest token kept and sent. Docker Hub's, GHCR's and ECR's are 1–3 KB; many servers refuse
 * request headers over 8–16 KB anyway.
 */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Tokens kept, and their total bytes: a registry handing out a new scope every check cycles through these. */
const MAX_TOKENS = 256;
const MAX_TOKEN_CACHE_BYTES = 1024 * 1024;
/** Even a token valid for days is fetched again after this long. */
const MAX_TOKEN_AGE_MS = 3_600_000;

export interface AuthChallenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Parameter names lowercased, values unquoted: `realm`, `service`, `scope`. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses `WWW-Authenticate` values (RFC 7235): several challenges may share one header, separated by
 * commas that are also the parameter separators, and quoted values may contain commas and `\"`.
 */
export function parseAuthChallenges(header: string | string[] | undefined): AuthChallenge[] {
  return [header ?? []].flat().flatMap(parseChallengeList);
}

function parseChallengeList(value: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const skip = (pattern: RegExp) => {
    while (i < value.length && pattern.test(value[i])) i++;
  };
  const token = () => {
    const start = i;
    skip(TOKEN_CHAR);
    return value.slice(start, i);
  };
  const quotedString = () => {
    let result = '';
    for (i++; i < value.length && value[i] !== '"'; i++) {
      if (value[i] === '\\') i++;
      result += value[i] ?? '';
    }
    i++;
    return result;
  };
  while (i < value.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++; // Not a token character where one was expected: skip it rather than loop forever.
      continue;
    }
    skip(/\s/);
    if (value[i] !== '=') {
      challenges.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    const parameter = value[i] === '"' ? quotedString() : token();
    const current = challenges.at(-1);
    if (current) current.params[name.toLowerCase()] = parameter;
  }
  return challenges;
}

/** A request to a token service, for the client to send with its own TLS settings and timeouts. */
export interface TokenRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/**
 * The token request for a Bearer challenge: GET with Basic credentials when there is a password
 * (anonymous when there are none), or the OAuth2 refresh-token POST when the config holds an identity token.
 */
export function tokenRequest(
  challenge: AuthChallenge,
  scope: string,
  credentials: RegistryCredentials | undefined,
  clientId: string,
): TokenRequest {
  const url = new URL(challenge.params.realm);
  const service = challenge.params.service;
  if (credentials?.identityToken) {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: credentials.identityToken,
      client_id: clientId,
      scope,
    });
    if (service !== undefined) form.set('service', service);
    return {
      url,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    };
  }
  if (service !== undefined) url.searchParams.set('service', service);
  url.searchParams.set('scope', scope);
  const headers: Record<string, string> = {};
  if (credentials?.username !== undefined) headers.authorization = basicAuthorization(credentials);
  return { url, method: 'GET', headers };
}

/** The `Authorization` value for Basic authentication. */
export function basicAuthorization(credentials: RegistryCredentials): string {
  const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

export interface IssuedToken {
  token: string;
  /** Seconds the token is valid for. */
  expiresInSeconds: number;
}

/** Token services may omit `expires_in`; the spec says to assume 60 seconds then. */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;

/** Reads a token service's answer: `token`, or the OAuth2 name `access_token`, and `expires_in`. */
export function parseTokenResponse(body: string): IssuedToken | undefined {
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const token = typeof parsed?.token === 'string' && parsed.token !== '' ? parsed.token : parsed?.access_token;
  if (typeof token !== 'string' || token === '') return undefined;
  const expiresIn = parsed.expires_in;
  const valid = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0;
  return { token, expiresInSeconds: valid ? expiresIn : DEFAULT_TOKEN_LIFETIME_SECONDS };
}

/** A token is dropped this long before it expires, so a request never carries one that dies in flight. */
const EXPIRY_MARGIN_MS = 10_000;

/**
 * Tokens by realm, service, scope and whose credentials fetched them, so one pull secret's token is never
 * sent on behalf of another. Keys hash the credentials; the cache never holds a password. Bounded in
 * count, bytes and age (a registry controls all three).
 */
export class TokenCache {
  readonly #tokens: LRUCache<string, string>;

  constructor(clock: Pick<Clock, 'now'> = { now: Date.now }) {
    this.#tokens = new LRUCache({
      max: MAX_TOKENS,
      maxSize: MAX_TOKEN_CACHE_BYTES,
      sizeCalculation: (token) => Math.max(1, token.length),
      ttl: MAX_TOKEN_AGE_MS,
      ...lruClock(clock),
    });
  }

  static key(challenge: AuthChallenge, scope: string, credentials: RegistryCredentials | undefined): string {
    const identity = credentials
      ? createHash('sha256')
          .update(JSON.stringify([credentials.username, credentials.password, credentials.identityToken]))
          .digest('hex')
      : 'anonymous';
    return JSON.stringify([challenge.params.realm, challenge.params.service, scope, identity]);
  }

  get(key: string): string | undefined {
    return this.#tokens.get(key);
  }

  set(key: string, issued: IssuedToken): void {
    const lifetimeMs = issued.expiresInSeconds * 1000;
    // Short-lived tokens keep at least half their life rather than expiring on arrival.
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
    // The registry says how long: never longer than MAX_TOKEN_AGE_MS, and a token too large for the budget is not kept.
    this.#tokens.set(key, issued.token, { ttl: Math.max(1, Math.min(MAX_TOKEN_AGE_MS, lifetimeMs - margin)) });
  }

  get size(): number {
    return this.#tokens.size;
  }
}
