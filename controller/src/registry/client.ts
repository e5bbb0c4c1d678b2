/**
 * Asks a registry which digest a tag points at: `HEAD /v2/<repository>/manifests/<tag>`, authenticating
 * as the registry asks, over pooled keep-alive connections, with a deadline on every request and one on
 * the whole check.
 *
 * Everything here that a registry can make grow (pools per origin it redirects to, challenges, tokens,
 * endpoints found to speak HTTP) lives in a BoundedCache, and every body and header it sends is read
 * only up to a limit: a hostile registry costs the controller a bounded amount of memory and time.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { createHash } from 'node:crypto';
import { Agent, request, type buildConnector, type Dispatcher } from 'undici';
import { ImageReason } from '../api/image.js';
import { BoundedCache } from '../bounded-cache.js';
import { systemClock, type Clock } from '../clock.js';
import { REQUEST_TIMEOUT_MS } from '../defaults.js';
import { createLogger, type Logger } from '../log.js';
import { HostAllowList } from './allow-list.js';
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
import { classifyAddress, guardedConnector, type AddressClass, type AddressLookup } from './destination.js';
import { RegistryError } from './errors.js';
import {
  errorForStatus,
  errorForTransport,
  isPlainHttpAnswer,
  parseErrorBody,
  unauthorized,
  type FailureContext,
} from './failures.js';
import { digestOf, isDigest, isManifestMediaType, MANIFEST_ACCEPT } from './manifest.js';
import type { ImageReference } from './reference.js';

export interface RegistryClientOptions {
  /** Deadline for each request, from connecting to the last byte of the body. @default REQUEST_TIMEOUT_MS (10 s) */
  requestTimeoutMs?: number;
  /**
   * Deadline for a whole check: every request it makes (HEAD, token, retry, redirects, GET, tag list),
   * so a slow registry holds a check for this long at most. @default 3 × requestTimeoutMs (30 s)
   */
  checkTimeoutMs?: number;
  /**
   * Host globs (`--allowed-registries`) every hop must match: the Image's registry, each redirect and
   * each token realm. @default [] (any host)
   */
  allowedRegistries?: readonly string[];
  /** Largest manifest read when the digest has to be computed from the body. @default 4 MiB */
  maxManifestBytes?: number;
  /** @default 'image-controller' */
  userAgent?: string;
  /** Receives `Checking digest for: <url>` at debug. Never given credentials or tokens. @default info to stderr */
  log?: Logger;
  /** Called once per HTTP request (token requests included), e.g. to count them in metrics. */
  onRequest?: (event: RequestEvent) => void;
  /**
   * What an address is, judged when every connection opens (redirects and token realms too): forbidden
   * addresses are never connected to, loopback only for an Image's own loopback registry.
   * @default classifyAddress: link-local and cloud metadata addresses forbidden (registry/destination.ts)
   */
  classifyAddress?: (address: string) => AddressClass;
  /** How host names are resolved. @default dns.lookup */
  lookup?: AddressLookup;
  /** Opens sockets. @default undici's buildConnector (tests record attempts instead of connecting) */
  buildConnector?: typeof buildConnector;
  /** For the age of cached pools, challenges and tokens. @default systemClock */
  clock?: Pick<Clock, 'now'>;
}

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

export interface ResolvedDigest {
  /** `sha256:…` of the manifest, or of the index for a multi-arch image. */
  digest: string;
  mediaType: string;
  /** `registry/repository@digest`, the seed's `status.latestImage`. */
  latestImage: string;
}

/** The limit containerd and the OCI distribution spec use for manifests. */
const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Error bodies and token answers are small; anything larger is not worth reading. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;
/** A tag list only sharpens a 404's message. */
const MAX_TAG_LIST_BYTES = 256 * 1024;
const MAX_REDIRECTS = 3;
/**
 * Idle keep-alive connections live this long, longer than the default 10 s interval, so a registry
 * checked every interval is asked over the same connection (undici's default, 4 s, closed each one
 * between checks). Registries commonly keep idle connections 60–75 s (nginx: 75 s).
 */
const KEEP_ALIVE_MS = 60_000;
/** Connections per origin; checks beyond it queue for one. */
const CONNECTIONS_PER_ORIGIN = 16;
/** Pools (one per origin, CA and loopback rule), each closed when unused this long or pushed out. */
const MAX_POOLS = 64;
const POOL_IDLE_MS = 2 * KEEP_ALIVE_MS;
/** Challenges remembered (per endpoint and repository) and endpoints remembered as plain HTTP. */
const MAX_REMEMBERED = 1024;
const REMEMBER_MS = 3_600_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** A few tags are enough to show which one was meant. */
const TAGS_IN_MESSAGE = 5;

type Scheme = 'http' | 'https';

/** One `resolveDigest` call: what it asks for, where, and how it may connect. */
interface Check {
  ref: ImageReference;
  options: ResolveOptions;
  /** `host[:port]` contacted. */
  endpoint: string;
  /** Loopback may be reached only when the registry contacted is itself named on loopback. */
  allowLoopback: boolean;
  /** Fires when the whole check has taken `checkTimeoutMs`. */
  deadline: AbortSignal;
  /** Set when `options.endpoint` named a scheme; otherwise HTTPS, falling back to HTTP where allowed. */
  pinnedScheme?: Scheme;
  failure: FailureContext;
}

/** An HTTP answer whose body the receiver must read or dump. */
interface Answer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Dispatcher.ResponseData['body'];
  /** Who answered, for messages. */
  peer: string;
}

/** Where a request goes: the registry the Image names, where it redirected, or its token service. */
export type Hop = 'registry' | 'redirect' | 'realm';

interface Send {
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

/** The endpoint answered HTTPS with plain HTTP; the caller decides whether HTTP may be used instead. */
class PlainHttpAnswer extends Error {}

export class RegistryClient {
  readonly #requestTimeoutMs: number;
  readonly #checkTimeoutMs: number;
  readonly #maxManifestBytes: number;
  readonly #userAgent: string;
  readonly #log: Logger;
  readonly #onRequest?: (event: RequestEvent) => void;
  readonly #allowed: HostAllowList;
  readonly #connectPolicy: Pick<RegistryClientOptions, 'classifyAddress' | 'lookup' | 'buildConnector'>;
  /**
   * One keep-alive pool per origin, CA and loopback rule, so an Image's private CA never applies to
   * another registry; closed when unused for POOL_IDLE_MS or when MAX_POOLS newer ones push it out.
   */
  readonly #agents: BoundedCache<string, Agent>;
  /** Endpoints found to speak plain HTTP, so later checks skip the HTTPS attempt. */
  readonly #plainHttpEndpoints: BoundedCache<string, true>;
  /** The last challenge per endpoint and repository, so later checks authenticate up front, in one request. */
  readonly #challenges: BoundedCache<string, AuthChallenge>;
  readonly #tokens: TokenCache;
  /** TLS settings built once per CA (140-odd root certificates parsed), not once per connection. */
  readonly #secureContexts: BoundedCache<string, SecureContext>;

  constructor(options: RegistryClientOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#checkTimeoutMs = options.checkTimeoutMs ?? 3 * this.#requestTimeoutMs;
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#userAgent = options.userAgent ?? 'image-controller';
    this.#log = options.log ?? createLogger();
    this.#onRequest = options.onRequest;
    this.#allowed = new HostAllowList(options.allowedRegistries ?? []);
    this.#connectPolicy = options;
    this.#agents = new BoundedCache({
      maxEntries: MAX_POOLS,
      maxAgeMs: POOL_IDLE_MS,
      expireAfterAccess: true,
      // Requests in flight on a dropped pool finish first; close() waits for them.
      onDrop: (agent) => void agent.close().catch(() => undefined),
      clock,
    });
    this.#plainHttpEndpoints = new BoundedCache({ maxEntries: MAX_REMEMBERED, maxAgeMs: REMEMBER_MS, clock });
    this.#challenges = new BoundedCache({ maxEntries: MAX_REMEMBERED, maxAgeMs: REMEMBER_MS, clock });
    this.#tokens = new TokenCache(clock);
    this.#secureContexts = new BoundedCache({ maxEntries: MAX_POOLS, maxAgeMs: REMEMBER_MS, expireAfterAccess: true, clock });
  }

  /** The digest `ref`'s tag points at now. Throws a `RegistryError` whose reason says what went wrong. */
  async resolveDigest(ref: ImageReference, options: ResolveOptions = {}): Promise<ResolvedDigest> {
    // Unused pools are closed at the pace of checks: nothing to do while nothing is checked.
    this.#agents.sweep();
    // A timer cleared when the check ends, rather than AbortSignal.timeout's, which lives its full 30 s:
    // at hundreds of checks a second those would pile up.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('the check took too long', 'TimeoutError')), this.#checkTimeoutMs);
    timer.unref();
    try {
      return await this.#resolve(this.#check(ref, options, deadline.signal));
    } finally {
      clearTimeout(timer);
    }
  }

  async #resolve(check: Check): Promise<ResolvedDigest> {
    const { ref } = check;
    const manifestPath = `/v2/${ref.repository}/manifests/${ref.tag}`;
    const accept = { accept: MANIFEST_ACCEPT };
    // The seed's log line, kept so its walkthrough still reads true.
    this.#log.debug(`Checking digest for: ${this.#url(check, manifestPath).href}`, { image: ref.toString() });

    const head = await this.#fetch(check, 'HEAD', manifestPath, accept);
    await this.#discard(check, head);
    if (head.status === 404) throw await this.#notFound(check);
    if (head.status !== 200) throw errorForStatus(head.status, retryAfter(head), undefined, check.failure);
    let digest = header(head, 'docker-content-digest');
    let mediaType = contentType(head);

    if (digest === undefined || !isManifestMediaType(mediaType)) {
      // Some registries and proxies omit the digest on HEAD; the manifest's bytes define it.
      const get = await this.#fetch(check, 'GET', manifestPath, accept);
      if (get.status !== 200) {
        const body = await this.#readBounded(check, get, MAX_ERROR_BODY_BYTES);
        throw errorForStatus(get.status, retryAfter(get), body?.toString('utf8'), check.failure);
      }
      const manifest = await this.#readBounded(check, get, this.#maxManifestBytes);
      if (manifest === undefined) {
        throw new RegistryError(
          ImageReason.InvalidManifest,
          `${check.failure.peer} sent a manifest for ${check.failure.subject} larger than ` +
            `${this.#maxManifestBytes} bytes, the most the controller reads`,
        );
      }
      digest = digestOf(manifest);
      mediaType = contentType(get) ?? mediaTypeField(manifest);
    }

    if (!isDigest(digest)) {
      throw new RegistryError(
        ImageReason.InvalidManifest,
        `${check.failure.peer} sent Docker-Content-Digest ${quote(digest)} for ${check.failure.subject}, which is not a sha256 digest`,
      );
    }
    if (!isManifestMediaType(mediaType)) {
      throw new RegistryError(
        ImageReason.InvalidManifest,
        `${check.failure.peer} answered ${check.failure.subject} with media type ${quote(mediaType ?? '')}, ` +
          'which is not an OCI or Docker v2 image manifest or index',
      );
    }
    return { digest, mediaType, latestImage: ref.digestReference(digest) };
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    const agents = this.#agents.values();
    this.#agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  /** How many connection pools are open, for tests of the bounds. */
  get pools(): number {
    return this.#agents.size;
  }

  #check(ref: ImageReference, options: ResolveOptions, deadline: AbortSignal): Check {
    const pinned = /^(https?):\/\/([^/]+)\/?$/.exec(options.endpoint ?? '');
    const endpoint = pinned ? pinned[2] : (options.endpoint ?? ref.endpoint);
    const check: Check = {
      ref,
      options,
      endpoint,
      allowLoopback: isLoopback(endpoint),
      deadline,
      pinnedScheme: pinned?.[1] as Scheme | undefined,
      failure: {
        registry: ref.registry,
        peer: endpoint === ref.endpoint ? `registry ${ref.registry}` : `registry ${endpoint} (for ${ref.registry})`,
        subject: `${ref.repository}:${ref.tag}`,
        credentialSource: options.credentialSource,
        withCredentials: options.credentials !== undefined,
      },
    };
    return check;
  }

  /**
   * HTTPS unless the endpoint was pinned to HTTP or found to speak it. Loopback and `insecure` registries
   * are tried over HTTPS first and use HTTP only when the server does not speak TLS, as Docker does: a
   * TLS registry on localhost then works with its CA, and no credentials travel in clear to a server
   * that would have taken them over TLS.
   */
  #url(check: Check, path: string): URL {
    const scheme = check.pinnedScheme ?? (this.#plainHttpEndpoints.get(check.endpoint) ? 'http' : 'https');
    return new URL(`${scheme}://${check.endpoint}${path}`);
  }

  /**
   * Plain HTTP is for the loopback registry an Image names (and a token realm on loopback beside it), or
   * for an Image marked `insecure`; a redirect elsewhere, or a realm on another host, needs HTTPS.
   * Checked before every request (another Image marked insecure may have taught us that an endpoint is
   * HTTP), so nothing is sent in clear where it should not be.
   */
  #assertPlainHttpAllowed(check: Check, url: URL, hop: Hop): void {
    if (url.protocol !== 'http:' || check.options.insecure) return;
    const loopbackRegistry = isLoopback(check.endpoint);
    if (hop === 'registry' && loopbackRegistry) return;
    if (hop === 'redirect' && loopbackRegistry && url.host === check.endpoint) return;
    if (hop === 'realm' && loopbackRegistry && isLoopback(url.host)) return;
    const what = { registry: 'would be contacted', redirect: 'redirected', realm: 'sent for a token' }[hop];
    const allowedFor = hop === 'registry' ? 'loopback registries' : 'the loopback registry an Image names';
    throw new RegistryError(
      ImageReason.InsecureNotAllowed,
      `${check.failure.peer} ${what} over plain HTTP at ${url.host}, which is allowed only for ${allowedFor}; ` +
        'set spec.insecure: true (--insecure for resolve) to allow it',
    );
  }

  /** `--allowed-registries` holds for every hop; the Image's own registry is judged by the name it gives. */
  #assertAllowed(check: Check, url: URL, hop: Hop): void {
    if (hop === 'registry' || this.#allowed.allows(url.host)) return;
    const what = hop === 'redirect' ? 'redirected to' : 'sent for a token to';
    throw new RegistryError(
      ImageReason.RegistryNotAllowed,
      `${check.failure.peer} ${what} ${url.host}, which is not in the controller's --allowed-registries; ` +
        'add it there if it is trusted',
    );
  }

  /** A registry request at `path` with the endpoint's scheme, authentication and redirects handled. */
  async #fetch(check: Check, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    for (;;) {
      const url = this.#url(check, path);
      try {
        return await this.#authenticated(check, method, url, headers);
      } catch (error) {
        if (error instanceof PlainHttpAnswer) {
          this.#assertPlainHttpAllowed(check, new URL(`http://${check.endpoint}`), 'registry');
          this.#plainHttpEndpoints.set(check.endpoint, true);
          continue;
        }
        // An endpoint remembered as plain HTTP that cannot be reached may have moved to TLS: retry HTTPS next time.
        if (url.protocol === 'http:' && isUnreachable(error)) this.#plainHttpEndpoints.delete(check.endpoint);
        throw error;
      }
    }
  }

  /** Sends with the remembered authorization; on 401, authenticates as challenged and sends once more. */
  async #authenticated(check: Check, method: string, url: URL, headers: Record<string, string>): Promise<Answer> {
    const challengeKey = `${check.endpoint}/${check.ref.repository}`;
    const remembered = this.#challenges.get(challengeKey);
    const upFront = remembered && (await this.#authorization(check, remembered, false));
    const first = await this.#followRedirects(check, method, url, headers, upFront);
    if (first.status !== 401) return first;
    await this.#discard(check, first);

    const offered = first.headers['www-authenticate'];
    if ([offered ?? []].flat().join(', ').length > MAX_CHALLENGE_BYTES) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${check.failure.peer} sent an authentication challenge longer than ${MAX_CHALLENGE_BYTES} bytes, the most the controller reads`,
      );
    }
    const challenge = parseAuthChallenges(offered).find((candidate) => candidate.scheme === 'bearer' || candidate.scheme === 'basic');
    if (challenge === undefined) throw unauthorized(check.failure, 401);
    this.#challenges.set(challengeKey, challenge);
    // One authentication round per check: a fresh token (the cached one may have been revoked), then
    // a 401 is the answer.
    const authorization = await this.#authorization(check, challenge, true);
    if (authorization === undefined) throw unauthorized(check.failure, 401);
    const second = await this.#followRedirects(check, method, url, headers, authorization);
    if (second.status !== 401) return second;
    await this.#discard(check, second);
    throw unauthorized(check.failure, 401);
  }

  /**
   * The `Authorization` value answering `challenge`, or undefined for Basic without credentials (then the
   * request goes anonymous); `fresh` skips the token cache.
   */
  async #authorization(check: Check, challenge: AuthChallenge, fresh: boolean): Promise<string | undefined> {
    const credentials = check.options.credentials;
    if (challenge.scheme === 'basic') return credentials?.username === undefined ? undefined : basicAuthorization(credentials);
    const realm = challenge.params.realm;
    if (!realm || !URL.canParse(realm)) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${check.failure.peer} asked for a token without a usable realm (${quote(realm ?? '')})`,
      );
    }
    const scope = challenge.params.scope ?? `repository:${check.ref.repository}:pull`;
    const key = TokenCache.key(challenge, scope, credentials);
    const cached = fresh ? undefined : this.#tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;

    const exchange = tokenRequest(challenge, scope, credentials, this.#userAgent);
    this.#log.debug('Fetching a registry token', { realm: exchange.url.origin + exchange.url.pathname, scope });
    const answer = await this.#send(check, { ...exchange, hop: 'realm', peer: `token service ${exchange.url.host}` });
    const body = (await this.#readBounded(check, answer, MAX_TOKEN_ANSWER_BYTES))?.toString('utf8');
    if (answer.status === 401 || answer.status === 403) throw unauthorized(check.failure, answer.status);
    if (answer.status !== 200) {
      throw errorForStatus(answer.status, retryAfter(answer), body, { ...check.failure, peer: answer.peer });
    }
    if (body === undefined) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${answer.peer} answered with more than ${MAX_TOKEN_ANSWER_BYTES} bytes, the most the controller reads from a token service`,
      );
    }
    const issued = parseTokenResponse(body);
    if (issued === undefined) {
      throw new RegistryError(ImageReason.RegistryUnavailable, `${answer.peer} answered without a token`);
    }
    if (issued.token.length > MAX_TOKEN_BYTES) {
      throw new RegistryError(
        ImageReason.RegistryUnavailable,
        `${answer.peer} issued a token longer than ${MAX_TOKEN_BYTES} bytes, the most the controller sends`,
      );
    }
    this.#tokens.set(key, issued);
    return `Bearer ${issued.token}`;
  }

  /**
   * Follows up to three redirects (some registries serve manifests from a CDN). The Authorization header
   * goes only to the endpoint itself: a redirect to another host is followed without it.
   */
  async #followRedirects(
    check: Check,
    method: string,
    url: URL,
    headers: Record<string, string>,
    authorization: string | undefined,
  ): Promise<Answer> {
    const endpointHost = url.host;
    for (let redirects = 0; ; redirects++) {
      const answer = await this.#send(check, {
        method,
        url,
        headers: authorization && url.host === endpointHost ? { ...headers, authorization } : headers,
        peer: check.failure.peer,
        hop: redirects === 0 ? 'registry' : 'redirect',
        mayFallBackToHttp: redirects === 0 && check.pinnedScheme === undefined,
      });
      const location = header(answer, 'location');
      if (!REDIRECT_STATUSES.has(answer.status) || location === undefined) return answer;
      await this.#discard(check, answer);
      if (redirects === MAX_REDIRECTS) {
        throw new RegistryError(
          ImageReason.RegistryUnavailable,
          `${check.failure.peer} redirected ${check.failure.subject} more than ${MAX_REDIRECTS} times`,
        );
      }
      if (!URL.canParse(location, url)) {
        throw new RegistryError(
          ImageReason.RegistryUnavailable,
          `${check.failure.peer} redirected ${check.failure.subject} to ${quote(location)}, which is not a URL`,
        );
      }
      url = new URL(location, url);
    }
  }

  /**
   * One HTTP request, after the hop's policy, with the request's and the check's deadlines and the
   * caller's cancellation; transport failures become RegistryErrors.
   */
  async #send(check: Check, { method, url, headers, peer, hop, body, mayFallBackToHttp }: Send): Promise<Answer> {
    this.#assertAllowed(check, url, hop);
    this.#assertPlainHttpAllowed(check, url, hop);
    const dispatcher = this.#agent(url, check);
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const report = (status: number | 'error') =>
        this.#onRequest?.({ host: check.endpoint, hop, method, status, durationMs: performance.now() - started });
      const signals = [AbortSignal.timeout(this.#requestTimeoutMs), check.deadline, ...(check.options.signal ? [check.options.signal] : [])];
      try {
        const response = await request(url, {
          method: method as Dispatcher.HttpMethod,
          headers: { 'user-agent': this.#userAgent, ...headers },
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
        if (check.options.signal?.aborted) throw check.options.signal.reason;
        if (mayFallBackToHttp && url.protocol === 'https:' && isPlainHttpAnswer(error)) throw new PlainHttpAnswer();
        // A kept-alive connection the server closed just as it was reused: once more, on a new one.
        if (attempt === 0 && body === undefined && isClosedBeforeAnswer(error) && !check.deadline.aborted) continue;
        throw this.#transportError(check, error, peer);
      }
    }
  }

  #transportError(check: Check, error: unknown, peer: string): RegistryError {
    if (check.deadline.aborted) {
      return new RegistryError(
        ImageReason.RegistryUnavailable,
        `${peer} did not finish answering ${check.failure.subject} within ${this.#checkTimeoutMs / 1000}s, the deadline of a whole check`,
        { cause: error },
      );
    }
    return errorForTransport(error, peer, this.#requestTimeoutMs);
  }

  /** Reads and drops a body not needed, so its connection can be reused (a large one closes it instead). */
  async #discard(check: Check, answer: Answer): Promise<void> {
    try {
      // dump, not a read: a HEAD answer declares the length of a body it does not send.
      await answer.body.dump({ limit: MAX_ERROR_BODY_BYTES });
    } catch (error) {
      throw this.#transportError(check, error, answer.peer);
    }
  }

  /** The body, or undefined when it is larger than `limit` bytes (then it is discarded unread). */
  async #readBounded(check: Check, answer: Answer, limit: number): Promise<Buffer | undefined> {
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
      throw this.#transportError(check, error, answer.peer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * A 404 for a manifest does not say whether the repository or the tag is missing (distribution 2.x
   * says MANIFEST_UNKNOWN for both), so ask for the repository's tags: NAME_UNKNOWN means no repository.
   */
  async #notFound(check: Check): Promise<RegistryError> {
    const { peer, subject } = check.failure;
    const { repository, tag } = check.ref;
    const notFound = (message: string) => new RegistryError(ImageReason.NotFound, message, { httpStatus: 404 });
    try {
      const answer = await this.#fetch(check, 'GET', `/v2/${repository}/tags/list`, { accept: 'application/json' });
      const body = (await this.#readBounded(check, answer, MAX_TAG_LIST_BYTES))?.toString('utf8');
      if (answer.status === 404 && parseErrorBody(body).some((entry) => entry.code === 'NAME_UNKNOWN')) {
        return notFound(`${peer} has no repository ${repository}`);
      }
      const tags = answer.status === 200 ? tagList(body) : undefined;
      if (tags !== undefined) {
        const shown = tags.slice(0, TAGS_IN_MESSAGE).join(', ') + (tags.length > TAGS_IN_MESSAGE ? ', …' : '');
        return notFound(`${peer} has no tag ${tag} in repository ${repository} (${tags.length ? `its tags: ${shown}` : 'it has no tags'})`);
      }
    } catch (error) {
      // The tag list only sharpens the message; failing to get it leaves the plain 404.
      if (!(error instanceof RegistryError)) throw error;
    }
    return notFound(`${peer} has no manifest for ${subject}`);
  }

  #agent(url: URL, check: Check): Agent {
    const caPem = check.options.caPem;
    const caKey = caPem === undefined ? '' : createHash('sha256').update(caPem).digest('hex');
    const key = `${url.origin} ${caKey} ${check.allowLoopback ? 'loopback' : ''}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const connect = guardedConnector(
        { secureContext: this.#secureContext(caKey, caPem) } as buildConnector.BuildOptions,
        {
          allowLoopback: check.allowLoopback,
          classify: this.#connectPolicy.classifyAddress ?? classifyAddress,
          lookup: this.#connectPolicy.lookup,
          buildConnector: this.#connectPolicy.buildConnector,
        },
      );
      agent = new Agent({
        connect,
        connections: CONNECTIONS_PER_ORIGIN,
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  #secureContext(caKey: string, caPem: string | undefined): SecureContext {
    let context = this.#secureContexts.get(caKey);
    if (context === undefined) {
      // A private CA is added to the system CAs, not used instead of them, as Docker's certs.d does.
      context = createSecureContext(caPem === undefined ? {} : { ca: [...rootCertificates, caPem] });
      this.#secureContexts.set(caKey, context);
    }
    return context;
  }
}

/** `localhost`, 127.0.0.0/8 and `[::1]`, with or without a port: where plain HTTP cannot be intercepted. */
export function isLoopback(hostAndPort: string): boolean {
  const host = hostAndPort.startsWith('[')
    ? hostAndPort.slice(1, hostAndPort.indexOf(']'))
    : hostAndPort.replace(/:\d*$/, '');
  return /^(?:localhost|::1|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.test(host);
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

/** A value a registry sent, quoted for a message and cut short: messages end up in status and Events. */
function quote(value: string, max = 128): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

function isUnreachable(error: unknown): boolean {
  return error instanceof RegistryError && error.reason === ImageReason.RegistryUnavailable && error.httpStatus === undefined;
}

function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentType(answer: Answer): string | undefined {
  return header(answer, 'content-type')?.split(';')[0].trim() || undefined;
}

function retryAfter(answer: Answer): { retryAfter?: string } {
  return { retryAfter: header(answer, 'retry-after') };
}

/** The `mediaType` a manifest declares in its body, for registries that send no Content-Type. */
function mediaTypeField(manifest: Buffer): string | undefined {
  try {
    const { mediaType } = JSON.parse(manifest.toString('utf8')) as { mediaType?: unknown };
    return typeof mediaType === 'string' ? mediaType : undefined;
  } catch {
    return undefined;
  }
}

function tagList(body: string | undefined): string[] | undefined {
  try {
    const { tags } = JSON.parse(body ?? '') as { tags?: unknown };
    if (tags === null) return [];
    return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : undefined;
  } catch {
    return undefined;
  }
}
