/**
 * Asks a registry which digest a tag points at: `HEAD /v2/<repository>/manifests/<tag>`, authenticating
 * as the registry asks, over pooled keep-alive connections with a deadline on every request.
 */
import { rootCertificates } from 'node:tls';
import { createHash } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { ImageReason } from '../api/image.js';
import { REQUEST_TIMEOUT_MS } from '../defaults.js';
import { createLogger, type Logger } from '../log.js';
import {
  basicAuthorization,
  parseAuthChallenges,
  parseTokenResponse,
  TokenCache,
  tokenRequest,
  type AuthChallenge,
} from './auth.js';
import type { RegistryCredentials } from './docker-config.js';
import { guardedConnector, isForbiddenAddress } from './destination.js';
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
  /** Largest manifest read when the digest has to be computed from the body. @default 4 MiB */
  maxManifestBytes?: number;
  /** @default 'image-controller' */
  userAgent?: string;
  /** Receives `Checking digest for: <url>` at debug. Never given credentials or tokens. @default info to stderr */
  log?: Logger;
  /** Called once per HTTP request (token requests included), e.g. to count them in metrics. */
  onRequest?: (event: RequestEvent) => void;
  /**
   * Addresses never connected to, checked when every connection opens (redirects and token realms too).
   * @default link-local and cloud metadata addresses (registry/destination.ts)
   */
  isForbiddenAddress?: (address: string) => boolean;
}

export interface RequestEvent {
  /** `host[:port]` the request went to. */
  host: string;
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
/** Error bodies, token answers and tag lists are small; anything larger is not worth reading. */
const MAX_AUXILIARY_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 3;
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

interface Send {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Who is asked, for messages: `registry …` or `token service …`. */
  peer: string;
  body?: string;
  /** The first request of a check to an endpoint whose scheme is not pinned. */
  mayFallBackToHttp?: boolean;
}

/** The endpoint answered HTTPS with plain HTTP; the caller decides whether HTTP may be used instead. */
class PlainHttpAnswer extends Error {}

export class RegistryClient {
  readonly #requestTimeoutMs: number;
  readonly #maxManifestBytes: number;
  readonly #userAgent: string;
  readonly #log: Logger;
  readonly #onRequest?: (event: RequestEvent) => void;
  readonly #isForbiddenAddress: (address: string) => boolean;
  /** One keep-alive pool per origin and CA, so an Image's private CA never applies to another registry. */
  readonly #agents = new Map<string, Agent>();
  /** Endpoints found to speak plain HTTP, so later checks skip the HTTPS attempt. */
  readonly #plainHttpEndpoints = new Set<string>();
  /** The last challenge per endpoint and repository, so later checks authenticate up front, in one request. */
  readonly #challenges = new Map<string, AuthChallenge>();
  readonly #tokens = new TokenCache();

  constructor(options: RegistryClientOptions = {}) {
    this.#requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#userAgent = options.userAgent ?? 'image-controller';
    this.#log = options.log ?? createLogger();
    this.#onRequest = options.onRequest;
    this.#isForbiddenAddress = options.isForbiddenAddress ?? isForbiddenAddress;
  }

  /** The digest `ref`'s tag points at now. Throws a `RegistryError` whose reason says what went wrong. */
  async resolveDigest(ref: ImageReference, options: ResolveOptions = {}): Promise<ResolvedDigest> {
    const check = this.#check(ref, options);
    const manifestPath = `/v2/${ref.repository}/manifests/${ref.tag}`;
    const accept = { accept: MANIFEST_ACCEPT };
    // The seed's log line, kept so its walkthrough still reads true.
    this.#log.debug(`Checking digest for: ${this.#url(check, manifestPath).href}`, { image: ref.toString() });

    const head = await this.#fetch(check, 'HEAD', manifestPath, accept);
    await head.body.dump();
    if (head.status === 404) throw await this.#notFound(check);
    if (head.status !== 200) throw errorForStatus(head.status, retryAfter(head), undefined, check.failure);
    let digest = header(head, 'docker-content-digest');
    let mediaType = contentType(head);

    if (digest === undefined || !isManifestMediaType(mediaType)) {
      // Some registries and proxies omit the digest on HEAD; the manifest's bytes define it.
      const get = await this.#fetch(check, 'GET', manifestPath, accept);
      if (get.status !== 200) {
        const body = await this.#readBounded(get, MAX_AUXILIARY_BODY_BYTES);
        throw errorForStatus(get.status, retryAfter(get), body?.toString('utf8'), check.failure);
      }
      const manifest = await this.#readBounded(get, this.#maxManifestBytes);
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
        `${check.failure.peer} sent Docker-Content-Digest ${JSON.stringify(digest)} for ${check.failure.subject}, which is not a sha256 digest`,
      );
    }
    if (!isManifestMediaType(mediaType)) {
      throw new RegistryError(
        ImageReason.InvalidManifest,
        `${check.failure.peer} answered ${check.failure.subject} with media type ${JSON.stringify(mediaType ?? '')}, ` +
          'which is not an OCI or Docker v2 image manifest or index',
      );
    }
    return { digest, mediaType, latestImage: ref.digestReference(digest) };
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  #check(ref: ImageReference, options: ResolveOptions): Check {
    const pinned = /^(https?):\/\/([^/]+)\/?$/.exec(options.endpoint ?? '');
    const endpoint = pinned ? pinned[2] : (options.endpoint ?? ref.endpoint);
    const check: Check = {
      ref,
      options,
      endpoint,
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
    const scheme = check.pinnedScheme ?? (this.#plainHttpEndpoints.has(check.endpoint) ? 'http' : 'https');
    // Checked on every use: another Image marked insecure may have taught us that this endpoint is HTTP.
    if (scheme === 'http') this.#assertPlainHttpAllowed(check, check.endpoint);
    return new URL(`${scheme}://${check.endpoint}${path}`);
  }

  /** Plain HTTP is for loopback registries, or ones the Image marks `insecure`; refused before connecting. */
  #assertPlainHttpAllowed(check: Check, host: string): void {
    if (check.options.insecure || isLoopback(host)) return;
    throw new RegistryError(
      ImageReason.InsecureNotAllowed,
      `${check.failure.peer} would be contacted over plain HTTP at ${host}, which is allowed only for loopback ` +
        'registries; set spec.insecure: true (--insecure for resolve) to allow it',
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
          this.#assertPlainHttpAllowed(check, check.endpoint);
          this.#plainHttpEndpoints.add(check.endpoint);
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
    await first.body.dump();

    const challenge = parseAuthChallenges(first.headers['www-authenticate']).find(
      (candidate) => candidate.scheme === 'bearer' || candidate.scheme === 'basic',
    );
    if (challenge === undefined) throw unauthorized(check.failure, 401);
    this.#challenges.set(challengeKey, challenge);
    // One authentication round per check: a fresh token (the cached one may have been revoked), then
    // a 401 is the answer.
    const authorization = await this.#authorization(check, challenge, true);
    if (authorization === undefined) throw unauthorized(check.failure, 401);
    const second = await this.#followRedirects(check, method, url, headers, authorization);
    if (second.status !== 401) return second;
    await second.body.dump();
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
        `${check.failure.peer} asked for a token without a usable realm (${JSON.stringify(realm ?? '')})`,
      );
    }
    const scope = challenge.params.scope ?? `repository:${check.ref.repository}:pull`;
    const key = TokenCache.key(challenge, scope, credentials);
    const cached = fresh ? undefined : this.#tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;

    const exchange = tokenRequest(challenge, scope, credentials, this.#userAgent);
    if (exchange.url.protocol === 'http:') this.#assertPlainHttpAllowed(check, exchange.url.host);
    this.#log.debug('Fetching a registry token', { realm: exchange.url.origin + exchange.url.pathname, scope });
    const answer = await this.#send(check, { ...exchange, peer: `token service ${exchange.url.host}` });
    const body = (await this.#readBounded(answer, MAX_AUXILIARY_BODY_BYTES))?.toString('utf8');
    if (answer.status === 401 || answer.status === 403) throw unauthorized(check.failure, answer.status);
    if (answer.status !== 200) {
      throw errorForStatus(answer.status, retryAfter(answer), body, { ...check.failure, peer: answer.peer });
    }
    const issued = parseTokenResponse(body ?? '');
    if (issued === undefined) {
      throw new RegistryError(ImageReason.RegistryUnavailable, `${answer.peer} answered without a token`);
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
        mayFallBackToHttp: redirects === 0 && check.pinnedScheme === undefined,
      });
      const location = header(answer, 'location');
      if (!REDIRECT_STATUSES.has(answer.status) || location === undefined) return answer;
      await answer.body.dump();
      if (redirects === MAX_REDIRECTS) {
        throw new RegistryError(
          ImageReason.RegistryUnavailable,
          `${check.failure.peer} redirected ${check.failure.subject} more than ${MAX_REDIRECTS} times`,
        );
      }
      url = new URL(location, url);
      if (url.protocol === 'http:') this.#assertPlainHttpAllowed(check, url.host);
    }
  }

  /** One HTTP request with the check's deadline and cancellation; transport failures become RegistryErrors. */
  async #send(check: Check, { method, url, headers, peer, body, mayFallBackToHttp }: Send): Promise<Answer> {
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.#requestTimeoutMs);
    const signal = check.options.signal ? AbortSignal.any([deadline, check.options.signal]) : deadline;
    const report = (status: number | 'error') =>
      this.#onRequest?.({ host: url.host, method, status, durationMs: performance.now() - started });
    try {
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: { 'user-agent': this.#userAgent, ...headers },
        body,
        signal,
        dispatcher: this.#agent(url, check.options.caPem),
      });
      report(response.statusCode);
      return { status: response.statusCode, headers: response.headers, body: response.body, peer };
    } catch (error) {
      report('error');
      if (check.options.signal?.aborted) throw check.options.signal.reason;
      if (mayFallBackToHttp && url.protocol === 'https:' && isPlainHttpAnswer(error)) throw new PlainHttpAnswer();
      throw errorForTransport(error, peer, this.#requestTimeoutMs);
    }
  }

  /** The body, or undefined when it is larger than `limit` bytes (then it is discarded unread). */
  async #readBounded(answer: Answer, limit: number): Promise<Buffer | undefined> {
    const declared = Number(header(answer, 'content-length'));
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (declared > limit) {
        answer.body.destroy();
        return undefined;
      }
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          answer.body.destroy();
          return undefined;
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw errorForTransport(error, answer.peer, this.#requestTimeoutMs);
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
      const body = (await this.#readBounded(answer, MAX_AUXILIARY_BODY_BYTES))?.toString('utf8');
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

  #agent(url: URL, caPem: string | undefined): Agent {
    const key = `${url.origin} ${caPem === undefined ? '' : createHash('sha256').update(caPem).digest('hex')}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      // A private CA is added to the system CAs, not used instead of them, as Docker's certs.d does.
      const tls = caPem === undefined ? {} : { ca: [...rootCertificates, caPem] };
      agent = new Agent({ connect: guardedConnector(tls, this.#isForbiddenAddress) });
      this.#agents.set(key, agent);
    }
    return agent;
  }
}

/** `localhost`, 127.0.0.0/8 and `[::1]`, with or without a port: where plain HTTP cannot be intercepted. */
export function isLoopback(hostAndPort: string): boolean {
  const host = hostAndPort.startsWith('[')
    ? hostAndPort.slice(1, hostAndPort.indexOf(']'))
    : hostAndPort.replace(/:\d*$/, '');
  return /^(?:localhost|::1|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.test(host);
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
