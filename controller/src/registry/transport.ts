/**
 * One HTTP exchange with a registry, a redirect it sends or its token service: the request's and the
 * check's deadlines, the caller's cancellation, redirects followed a bounded number of times, and bodies
 * read only up to a limit. What the exchange may reach is asked of the check (and so of the registry
 * policy) before each request; transport failures become RegistryErrors.
 */
import { request, type Dispatcher } from 'undici';
import { ImageReason } from '../api/image.js';
import { RegistryError } from './errors.js';
import { errorForTransport, isPlainHttpAnswer, quote, type FailureContext } from './failures.js';
import type { Hop } from './policy.js';

/** Error bodies are small; anything larger is not worth reading. Also the most read to drop a body. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface RequestEvent {
  /**
   * `host[:port]` of the registry the Image names, also for its redirects and token requests: never a
   * host a registry names, so a registry cannot mint new metric label values.
   */
  host: string;
  /** Whether the request went to that registry, to where it redirected, or to its token service. */
  hop: Hop;
  method: string;
  /** The HTTP status, or `'error'` when no answer came (refused, reset, TLS, timeout). */
  status: number | 'error';
  /** Until the response headers arrived, or the request failed. */
  durationMs: number;
}

/** An HTTP answer whose body the receiver must read or dump. */
export interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Dispatcher.ResponseData['body'];
  /** Who answered, for messages. */
  peer: string;
}

/**
 * What an HTTPS request got from a server that speaks plain HTTP on that port, when the request was
 * one that may fall back: a value for the check to act on (try HTTP where the policy allows it).
 */
export const SPEAKS_PLAIN_HTTP = Symbol('speaks plain HTTP');
export type Reply = Answer | typeof SPEAKS_PLAIN_HTTP;

/** The check an exchange belongs to. */
export interface ExchangeScope {
  /** `host[:port]` of the registry contacted: the metric's host for every hop. */
  endpoint: string;
  /** Fires when the whole check has taken its time. */
  deadline: AbortSignal;
  /** The caller's cancellation, if any. */
  signal?: AbortSignal;
  failure: FailureContext;
  /** The pool to send to `url` through, once the registry policy allows `hop`; throws a RegistryError when it does not. */
  dispatcherFor(url: URL, hop: Hop): Dispatcher;
}

export interface Exchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Who is asked, for messages: `registry …` or `token service …`. */
  peer: string;
  hop: Hop;
  body?: string;
  /** The first request of a check to an endpoint whose scheme is not pinned. */
  mayFallBackToHttp?: boolean;
}

export interface TransportOptions {
  /** Deadline for each request, from connecting to the last byte of the body. */
  requestTimeoutMs: number;
  /** Deadline for a whole check, for the message when it fires. */
  checkTimeoutMs: number;
  userAgent: string;
  /** Called once per HTTP request (token requests included). */
  onRequest?: (event: RequestEvent) => void;
}

export class Transport {
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /**
   * Follows up to three redirects (some registries serve manifests from a CDN). The Authorization header
   * goes only to the endpoint itself: a redirect to another host is followed without it.
   */
  async followRedirects(
    scope: ExchangeScope,
    request: Pick<Exchange, 'method' | 'url' | 'headers' | 'mayFallBackToHttp'>,
    authorization: string | undefined,
  ): Promise<Reply> {
    const { method, headers } = request;
    let url = request.url;
    const endpointHost = url.host;
    for (let redirects = 0; ; redirects++) {
      const reply = await this.send(scope, {
        method,
        url,
        headers: authorization && url.host === endpointHost ? { ...headers, authorization } : headers,
        peer: scope.failure.peer,
        hop: redirects === 0 ? 'registry' : 'redirect',
        mayFallBackToHttp: redirects === 0 && request.mayFallBackToHttp,
      });
      if (reply === SPEAKS_PLAIN_HTTP) return reply;
      const location = header(reply, 'location');
      if (!REDIRECT_STATUSES.has(reply.status) || location === undefined) return reply;
      await this.discard(scope, reply);
      if (redirects === MAX_REDIRECTS) {
        throw new RegistryError(
          ImageReason.RegistryUnavailable,
          `${scope.failure.peer} redirected ${scope.failure.subject} more than ${MAX_REDIRECTS} times`,
        );
      }
      if (!URL.canParse(location, url)) {
        throw new RegistryError(
          ImageReason.RegistryUnavailable,
          `${scope.failure.peer} redirected ${scope.failure.subject} to ${quote(location)}, which is not a URL`,
        );
      }
      url = new URL(location, url);
    }
  }

  /**
   * One HTTP request, after the hop's policy, with the request's and the check's deadlines and the
   * caller's cancellation. Only a request that may fall back to plain HTTP can get SPEAKS_PLAIN_HTTP.
   */
  send(scope: ExchangeScope, exchange: Omit<Exchange, 'mayFallBackToHttp'>): Promise<Answer>;
  send(scope: ExchangeScope, exchange: Exchange): Promise<Reply>;
  async send(scope: ExchangeScope, { method, url, headers, peer, hop, body, mayFallBackToHttp }: Exchange): Promise<Reply> {
    const { requestTimeoutMs, userAgent, onRequest } = this.#options;
    const dispatcher = scope.dispatcherFor(url, hop);
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const report = (status: number | 'error') => onRequest?.({ host: scope.endpoint, hop, method, status, durationMs: performance.now() - started });
      const signals = [AbortSignal.timeout(requestTimeoutMs), scope.deadline, ...(scope.signal ? [scope.signal] : [])];
      try {
        const response = await request(url, {
          method: method as Dispatcher.HttpMethod,
          headers: { 'user-agent': userAgent, ...headers },
          body,
          signal: AbortSignal.any(signals),
          dispatcher,
          // undici closes the connection after every HEAD unless told otherwise (for servers that send a
          // body with it), which made each check, a HEAD, open a new connection: `false` keeps it. A
          // redirect target is seldom asked again (a CDN URL, a hostile registry's new port every check):
          // its connection is closed after the answer instead of idling in a pool.
          reset: hop === 'redirect',
        });
        report(response.statusCode);
        return { status: response.statusCode, headers: response.headers, body: response.body, peer };
      } catch (error) {
        report('error');
        if (scope.signal?.aborted) throw scope.signal.reason;
        if (mayFallBackToHttp && url.protocol === 'https:' && isPlainHttpAnswer(error)) return SPEAKS_PLAIN_HTTP;
        // A kept-alive connection the server closed just as it was reused: once more, on a new one.
        if (attempt === 0 && body === undefined && isClosedBeforeAnswer(error) && !scope.deadline.aborted) continue;
        throw this.transportError(scope, error, peer);
      }
    }
  }

  /** Reads and drops a body not needed, so its connection can be reused (a large one closes it instead). */
  async discard(scope: ExchangeScope, answer: Answer): Promise<void> {
    try {
      // dump, not a read: a HEAD answer declares the length of a body it does not send.
      await answer.body.dump({ limit: MAX_ERROR_BODY_BYTES });
    } catch (error) {
      throw this.transportError(scope, error, answer.peer);
    }
  }

  /** The body, or undefined when it is larger than `limit` bytes (then it is discarded unread). */
  async readBounded(scope: ExchangeScope, answer: Answer, limit: number): Promise<Buffer | undefined> {
    const declared = Number(header(answer, 'content-length'));
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (declared > limit) {
        discardUnread(answer);
        return undefined;
      }
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          discardUnread(answer);
          return undefined;
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw this.transportError(scope, error, answer.peer);
    }
    return Buffer.concat(chunks);
  }

  transportError(scope: ExchangeScope, error: unknown, peer: string): RegistryError {
    if (scope.deadline.aborted) {
      return new RegistryError(
        ImageReason.RegistryUnavailable,
        `${peer} did not finish answering ${scope.failure.subject} within ${this.#options.checkTimeoutMs / 1000}s, the deadline of a whole check`,
        { cause: error },
      );
    }
    return errorForTransport(error, peer, this.#options.requestTimeoutMs);
  }
}

export function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function contentType(answer: Answer): string | undefined {
  return header(answer, 'content-type')?.split(';')[0].trim() || undefined;
}

export function retryAfter(answer: Answer): { retryAfter?: string } {
  return { retryAfter: header(answer, 'retry-after') };
}

/** Closes a body without reading on; the abort it raises is expected, not an error to report. */
function discardUnread(answer: Answer): void {
  answer.body.on('error', () => undefined);
  answer.body.destroy();
}

/** The connection closed before any answer: a reused keep-alive connection the server had just dropped. */
function isClosedBeforeAnswer(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}
