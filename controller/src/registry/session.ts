/**
 * One check against one registry: what it asks for, where, with which credentials, and one deadline for
 * every request it makes. It picks the scheme (HTTPS, or HTTP where the endpoint speaks it and the
 * registry policy allows it), authenticates as the registry asks (Basic, or a Bearer token from its
 * realm) and sends each request through transport, every hop past the registry policy first.
 */
import type { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { ImageReason } from '../api/image.js';
import type { Logger } from '../log.js';
import {
  basicAuthorization,
  MAX_CHALLENGE_BYTES,
  MAX_TOKEN_BYTES,
  parseAuthChallenges,
  parseTokenResponse,
  TokenCache,
  tokenRequest,
  type AuthChallenge,
} from './auth.js';
import type { RegistryCredentials } from './docker-config.js';
import { RegistryError } from './errors.js';
import { errorForStatus, quote, unauthorized, type FailureContext } from './failures.js';
import { isLoopback, type Hop, type RegistryPolicy } from './policy.js';
import type { ImageReference } from './reference.js';
import { retryAfter, SPEAKS_PLAIN_HTTP, type Answer, type ExchangeScope, type Reply, type Transport } from './transport.js';

export interface ResolveOptions {
  /** Allow plain HTTP to a registry that is not on loopback (`spec.insecure`). */
  insecure?: boolean;
  /** PEM of an extra CA to trust for this registry, besides the system CAs. */
  caPem?: string;
  credentials?: RegistryCredentials;
  /** Where the credentials come from, for messages only, e.g. `pull secret "regcred"`. */
  credentialSource?: string;
  /**
   * `host[:port]` actually contacted when a registry alias applies (the reported reference keeps
   * `ref.registry`); `http://host[:port]` or `https://…` pins the scheme.
   */
  endpoint?: string;
  signal?: AbortSignal;
}

/** What the long-lived client lends each check: its policy, transport, pools and what it remembers. */
export interface SessionContext {
  policy: RegistryPolicy;
  transport: Transport;
  log: Logger;
  userAgent: string;
  /** Deadline of a whole check, in ms. */
  checkTimeoutMs: number;
  /** Endpoints found to speak plain HTTP, so later checks skip the HTTPS attempt. */
  plainHttpEndpoints: LRUCache<string, true>;
  /** The last challenge per endpoint and repository, so later checks authenticate up front, in one request. */
  challenges: LRUCache<string, AuthChallenge>;
  tokens: TokenCache;
  /** The keep-alive pool for `url`'s origin, `caPem` and loopback rule. */
  pool(url: URL, caPem: string | undefined, allowLoopback: boolean): Dispatcher;
}

type Scheme = 'http' | 'https';

/** Token answers are small; anything larger is not worth reading. */
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

export class CheckSession implements ExchangeScope {
  readonly ref: ImageReference;
  readonly options: ResolveOptions;
  /** `host[:port]` contacted. */
  readonly endpoint: string;
  readonly failure: FailureContext;
  readonly deadline: AbortSignal;
  readonly signal?: AbortSignal;
  readonly #context: SessionContext;
  /** Set when `options.endpoint` named a scheme; otherwise HTTPS, falling back to HTTP where allowed. */
  readonly #pinnedScheme?: Scheme;
  /** Loopback may be reached only when the registry contacted is itself named on loopback. */
  readonly #allowLoopback: boolean;
  readonly #timer: NodeJS.Timeout;

  /**
   * Starts a check of `ref` once the registry policy admits its registry; `end()` it when done. The
   * deadline starts after the admission, so a slow DNS answer there does not eat into the requests' time.
   */
  static async open(context: SessionContext, ref: ImageReference, options: ResolveOptions, subject = `${ref.repository}:${ref.tag}`): Promise<CheckSession> {
    const pinned = /^(https?):\/\/([^/]+)\/?$/.exec(options.endpoint ?? '');
    const endpoint = pinned ? pinned[2]! : (options.endpoint ?? ref.endpoint);
    await context.policy.admitRegistry(ref.registry, endpoint);
    return new CheckSession(context, ref, options, endpoint, pinned?.[1] as Scheme | undefined, subject);
  }

  private constructor(
    context: SessionContext,
    ref: ImageReference,
    options: ResolveOptions,
    endpoint: string,
    pinnedScheme: Scheme | undefined,
    /** What the check asks for, for messages: `apps/demo:latest`, `the tags of apps/demo`. */
    subject: string,
  ) {
    this.#context = context;
    this.ref = ref;
    this.options = options;
    this.endpoint = endpoint;
    this.signal = options.signal;
    this.#pinnedScheme = pinnedScheme;
    this.#allowLoopback = isLoopback(endpoint);
    this.failure = {
      registry: ref.registry,
      peer: endpoint === ref.endpoint ? `registry ${ref.registry}` : `registry ${endpoint} (for ${ref.registry})`,
      subject,
      credentialSource: options.credentialSource,
      withCredentials: options.credentials !== undefined,
    };
    // A timer cleared when the check ends, rather than AbortSignal.timeout's, which lives its full 30 s:
    // at hundreds of checks a second those would pile up.
    const deadline = new AbortController();
    this.#timer = setTimeout(() => deadline.abort(new DOMException('the check took too long', 'TimeoutError')), context.checkTimeoutMs);
    this.#timer.unref();
    this.deadline = deadline.signal;
  }

  /** Ends the check: its deadline no longer runs. */
  end(): void {
    clearTimeout(this.#timer);
  }

  /**
   * HTTPS unless the endpoint was pinned to HTTP or found to speak it. Loopback and `insecure` registries
   * are tried over HTTPS first and use HTTP only when the server does not speak TLS, as Docker does: a
   * TLS registry on localhost then works with its CA, and no credentials travel in clear to a server
   * that would have taken them over TLS.
   */
  url(path: string): URL {
    const scheme = this.#pinnedScheme ?? (this.#context.plainHttpEndpoints.get(this.endpoint) ? 'http' : 'https');
    return new URL(`${scheme}://${this.endpoint}${path}`);
  }

  /** A registry request at `path` with the endpoint's scheme, authentication and redirects handled. */
  async fetch(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    const { policy, plainHttpEndpoints } = this.#context;
    for (;;) {
      const url = this.url(path);
      let reply: Reply;
      try {
        reply = await this.#authenticated(method, url, headers);
      } catch (error) {
        // An endpoint remembered as plain HTTP that cannot be reached may have moved to TLS: retry HTTPS next time.
        if (url.protocol === 'http:' && isUnreachable(error)) plainHttpEndpoints.delete(this.endpoint);
        throw error;
      }
      if (reply !== SPEAKS_PLAIN_HTTP) return reply;
      policy.assertHop(this.#hopScope, new URL(`http://${this.endpoint}`), 'registry');
      plainHttpEndpoints.set(this.endpoint, true);
    }
  }

  readBounded(answer: Answer, limit: number): Promise<Buffer | undefined> {
    return this.#context.transport.readBounded(this, answer, limit);
  }

  discard(answer: Answer): Promise<void> {
    return this.#context.transport.discard(this, answer);
  }

  /** For transport: every hop past the registry policy, then through the pool for its origin. */
  dispatcherFor(url: URL, hop: Hop): Dispatcher {
    this.#context.policy.assertHop(this.#hopScope, url, hop);
    return this.#context.pool(url, this.options.caPem, this.#allowLoopback);
  }

  get #hopScope() {
    return { endpoint: this.endpoint, insecure: this.options.insecure ?? false, peer: this.failure.peer };
  }

  /** Sends with the remembered authorization; on 401, authenticates as challenged and sends once more. */
  async #authenticated(method: string, url: URL, headers: Record<string, string>): Promise<Reply> {
    const { transport, challenges } = this.#context;
    const request = { method, url, headers, mayFallBackToHttp: this.#pinnedScheme === undefined };
    const challengeKey = `${this.endpoint}/${this.ref.repository}`;
    const remembered = challenges.get(challengeKey);
    const upFront = remembered && (await this.#authorization(remembered, false));
    const first = await transport.followRedirects(this, request, upFront);
    if (first === SPEAKS_PLAIN_HTTP || first.status !== 401) return first;
    await this.discard(first);

    const offered = first.headers['www-authenticate'];
    if ([offered ?? []].flat().join(', ').length > MAX_CHALLENGE_BYTES) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${this.failure.peer} sent an authentication challenge longer than ${MAX_CHALLENGE_BYTES} bytes, the most the controller reads`,
      );
    }
    const challenge = parseAuthChallenges(offered).find((candidate) => candidate.scheme === 'bearer' || candidate.scheme === 'basic');
    if (challenge === undefined) throw unauthorized(this.failure, 401);
    challenges.set(challengeKey, challenge);
    // One authentication round per check: a fresh token (the cached one may have been revoked), then
    // a 401 is the answer.
    const authorization = await this.#authorization(challenge, true);
    if (authorization === undefined) throw unauthorized(this.failure, 401);
    const second = await transport.followRedirects(this, request, authorization);
    if (second === SPEAKS_PLAIN_HTTP || second.status !== 401) return second;
    await this.discard(second);
    throw unauthorized(this.failure, 401);
  }

  /**
   * The `Authorization` value answering `challenge`, or undefined for Basic without credentials (then the
   * request goes anonymous); `fresh` skips the token cache.
   */
  async #authorization(challenge: AuthChallenge, fresh: boolean): Promise<string | undefined> {
    const { transport, tokens, log, userAgent } = this.#context;
    const credentials = this.options.credentials;
    if (challenge.scheme === 'basic') return credentials?.username === undefined ? undefined : basicAuthorization(credentials);
    const realm = challenge.params.realm;
    if (!realm || !URL.canParse(realm)) {
      throw new RegistryError(ImageReason.RegistryUnavailable, `${this.failure.peer} asked for a token without a usable realm (${quote(realm ?? '')})`);
    }
    const scope = challenge.params.scope ?? `repository:${this.ref.repository}:pull`;
    const key = TokenCache.key(challenge, scope, credentials);
    const cached = fresh ? undefined : tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;

    const exchange = tokenRequest(challenge, scope, credentials, userAgent);
    log.debug('Fetching a registry token', { realm: exchange.url.origin + exchange.url.pathname, scope });
    const answer = await transport.send(this, { ...exchange, hop: 'realm', peer: `token service ${exchange.url.host}` });
    const body = (await this.readBounded(answer, MAX_TOKEN_ANSWER_BYTES))?.toString('utf8');
    if (answer.status === 401 || answer.status === 403) throw unauthorized(this.failure, answer.status);
    if (answer.status !== 200) throw errorForStatus(answer.status, retryAfter(answer), body, { ...this.failure, peer: answer.peer });
    if (body === undefined) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${answer.peer} answered with more than ${MAX_TOKEN_ANSWER_BYTES} bytes, the most the controller reads from a token service`,
      );
    }
    const issued = parseTokenResponse(body);
    if (issued === undefined) throw new RegistryError(ImageReason.RegistryUnavailable, `${answer.peer} answered without a token`);
    if (issued.token.length > MAX_TOKEN_BYTES) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${answer.peer} issued a token longer than ${MAX_TOKEN_BYTES} bytes, the most the controller sends`,
      );
    }
    tokens.set(key, issued);
    return `Bearer ${issued.token}`;
  }
}

function isUnreachable(error: unknown): boolean {
  return error instanceof RegistryError && error.reason === ImageReason.RegistryUnavailable && error.httpStatus === undefined;
}
