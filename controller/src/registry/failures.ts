/**
 * Turns what went wrong talking to a registry (an HTTP status, a socket, TLS or DNS error, a timeout)
 * into a `RegistryError` whose reason and message say what to fix.
 */
import { ImageReason } from '../api/image.js';
import { RegistryError } from './errors.js';

/** What a failed request was about, for messages. */
export interface FailureContext {
  /** The registry as the reference names it, e.g. `localhost:5000`. */
  registry: string;
  /** Who answered or could not be reached, for the message: `registry localhost:5000`, `token service …`. */
  peer: string;
  /** What was asked for, e.g. `apps/demo:latest`. */
  subject: string;
  /** Where the credentials came from, e.g. `pull secret "regcred"`; names what to fix. */
  credentialSource?: string;
  /** Whether credentials were sent. */
  withCredentials: boolean;
}

/** One entry of the distribution error body, `{"errors":[{"code","message","detail"}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
}

/** The error codes a registry sent in its body; empty when the body is not the distribution format. */
export function parseErrorBody(body: string | undefined): RegistryErrorEntry[] {
  if (!body) return [];
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.flatMap((entry: { code?: unknown; message?: unknown }) =>
      typeof entry?.code === 'string'
        ? [{ code: entry.code, message: typeof entry.message === 'string' ? entry.message : undefined }]
        : [],
    );
  } catch {
    return [];
  }
}

/**
 * The longest wait a registry's `Retry-After` can impose: a 429 delays every Image sharing the request,
 * so `Retry-After: 999999999` must not park them for 31 years. Ten minutes outlasts the rate-limit
 * windows registries announce per request (Docker Hub's pull limit resets over hours, but HEAD requests,
 * what the controller sends, do not count against it).
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** `Retry-After` in milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), unclamped. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The distribution error entries a message quotes, and how much of each: the body is the registry's. */
const ENTRIES_IN_MESSAGE = 3;
const ENTRY_TEXT_IN_MESSAGE = 200;
/** How much of one value a registry sent (a header, a URL) a message quotes. */
const VALUE_IN_MESSAGE = 128;

/** A value a registry sent, quoted for a message and cut short: messages end up in status and Events. */
export function quote(value: string, max = VALUE_IN_MESSAGE): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

function quotedEntries(entries: RegistryErrorEntry[]): string {
  if (entries.length === 0) return '';
  const clip = (text: string) => (text.length > ENTRY_TEXT_IN_MESSAGE ? `${text.slice(0, ENTRY_TEXT_IN_MESSAGE)}…` : text);
  const shown = entries.slice(0, ENTRIES_IN_MESSAGE).map((e) => clip([e.code, e.message].filter(Boolean).join(': ')));
  const more = entries.length > ENTRIES_IN_MESSAGE ? `; and ${entries.length - ENTRIES_IN_MESSAGE} more` : '';
  return ` (${shown.join('; ')}${more})`;
}

/** The `RegistryError` for a status other than success; `body` is the (bounded) error body when read. */
export function errorForStatus(
  status: number,
  headers: { retryAfter?: string },
  body: string | undefined,
  context: FailureContext,
): RegistryError {
  const { peer, subject } = context;
  const entries = parseErrorBody(body);
  const said = quotedEntries(entries);
  const fail = (reason: ImageReason, message: string, retryAfterMs?: number) =>
    new RegistryError(reason, message, { httpStatus: status, retryAfterMs });

  if (status === 401) return unauthorized(context, status);
  if (status === 403) {
    const who = context.withCredentials ? ` to the credentials from ${context.credentialSource ?? 'the caller'}` : ' to anonymous requests';
    return fail(ImageReason.Forbidden, `${peer} denied access to ${subject}${who}${said}`);
  }
  if (status === 404) return fail(ImageReason.NotFound, `${peer} has no ${subject}${said}`);
  if (status === 429) {
    const askedMs = parseRetryAfter(headers.retryAfter);
    const retryAfterMs = askedMs === undefined ? undefined : Math.min(askedMs, MAX_RETRY_AFTER_MS);
    const when =
      askedMs === undefined
        ? ''
        : `; it asked to retry in ${Math.ceil(askedMs / 1000)}s` +
          (askedMs > MAX_RETRY_AFTER_MS ? `, the controller waits at most ${MAX_RETRY_AFTER_MS / 1000}s` : '');
    return fail(ImageReason.RateLimited, `${peer} is rate limiting requests for ${subject}${when}${said}`, retryAfterMs);
  }
  if (status === 400 && entries.some((e) => e.code === 'NAME_INVALID' || e.code === 'TAG_INVALID')) {
    return fail(ImageReason.InvalidSpec, `${peer} rejected the name ${subject}${said}`);
  }
  const kind = status >= 500 ? 'a server error' : 'an unexpected status';
  return fail(ImageReason.RegistryUnavailable, `${peer} answered ${kind}, HTTP ${status}, for ${subject}${said}`);
}

/** 401 after the credentials (or none) were tried: say which, so the person knows what to change. */
export function unauthorized(context: FailureContext, httpStatus?: number): RegistryError {
  const { peer, registry, subject, credentialSource } = context;
  let message: string;
  if (context.withCredentials) {
    message = `${peer} refused the credentials from ${credentialSource ?? 'the caller'}`;
  } else if (credentialSource !== undefined) {
    message = `${peer} requires credentials for ${subject} and ${credentialSource} has no entry for ${registry}`;
  } else {
    message = `${peer} requires credentials for ${subject} and none were given`;
  }
  return new RegistryError(ImageReason.Unauthorized, message, { httpStatus });
}

/** Node and OpenSSL codes meaning the peer's certificate chain is not trusted. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** OpenSSL codes for an HTTPS request answered by a plain HTTP server. */
const PLAIN_HTTP_ANSWER = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'EPROTO']);

/** True when an HTTPS attempt failed because the server speaks plain HTTP on that port. */
export function isPlainHttpAnswer(error: unknown): boolean {
  return PLAIN_HTTP_ANSWER.has(codeOf(error) ?? '');
}

/** The `RegistryError` for a request that got no HTTP answer: timeout, socket, DNS or TLS failure. */
export function errorForTransport(error: unknown, peer: string, timeoutMs: number): RegistryError {
  const code = codeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const unavailable = (message: string) => new RegistryError(ImageReason.RegistryUnavailable, message, { cause: error });
  if (error instanceof Error && error.name === 'TimeoutError') {
    return unavailable(`${peer} did not answer within ${timeoutMs / 1000}s`);
  }
  switch (code) {
    case 'ERR_FORBIDDEN_DESTINATION':
      return new RegistryError(ImageReason.RegistryNotAllowed, `${peer} was not contacted: ${detail}`, { cause: error });
    case 'ECONNREFUSED':
      return unavailable(`cannot connect to ${peer}: connection refused`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return unavailable(`${peer} closed the connection before answering (${code})`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return unavailable(`cannot resolve the host name of ${peer} (${code})`);
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return unavailable(`cannot connect to ${peer}: timed out`);
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return unavailable(`the TLS certificate of ${peer} is for another name: ${detail}`);
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return unavailable(`the TLS certificate of ${peer} is not valid now (${code})`);
  }
  if (code !== undefined && UNTRUSTED_CERTIFICATE.has(code)) {
    return unavailable(
      `the TLS certificate of ${peer} is not signed by a trusted CA (${code}); ` +
        "give the registry's CA (spec.caSecretRef, or --ca-file)",
    );
  }
  if (isPlainHttpAnswer(error)) return unavailable(`${peer} does not speak TLS (${code})`);
  return unavailable(`cannot reach ${peer}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}`);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
