/**
 * The controller's one registry client, alive as long as the controller: it holds what checks share
 * (pooled keep-alive connections, TLS contexts, remembered challenges, tokens and plain-HTTP endpoints,
 * the registry policy and transport) and opens a CheckSession for each check: resolving a tag's digest
 * (resolve-digest.ts) or listing a repository's tags (tag-list.ts).
 *
 * Everything here that a registry can make grow (pools per origin it redirects to, challenges, tokens,
 * endpoints found to speak HTTP) lives in a bounded LRUCache (lru-cache), and every body and header it sends is read
 * only up to a limit: a hostile registry costs the controller a bounded amount of memory and time.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, type buildConnector } from 'undici';
import { LRUCache } from 'lru-cache';
import { lruClock, systemClock, type Clock } from '../clock.js';
import { REQUEST_TIMEOUT_MS } from '../defaults.js';
import { createLogger, type Logger } from '../log.js';
import { TokenCache, type AuthChallenge } from './auth.js';
import type { AddressClass, AddressLookup } from './destination.js';
import { RegistryPolicy } from './policy.js';
import type { ImageReference } from './reference.js';
import { repositoryReader, type RepositoryReader } from './repository-reader.js';
import { DEFAULT_MAX_MANIFEST_BYTES, resolveDigest, type ResolvedDigest } from './resolve-digest.js';
import { CheckSession, type ResolveOptions, type SessionContext } from './session.js';
import { listTags, type TagListBounds, type TagListing } from './tag-list.js';
import { Transport, type RequestEvent } from './transport.js';

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
   * What an address is, judged up front and when every connection opens (redirects and token realms
   * too): forbidden addresses are never connected to, loopback only for an Image's own loopback registry.
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

export class RegistryClient {
  readonly #maxManifestBytes: number;
  readonly #log: Logger;
  /**
   * One keep-alive pool per origin, CA and loopback rule, so an Image's private CA never applies to
   * another registry; closed when unused for POOL_IDLE_MS or when MAX_POOLS newer ones push it out.
   */
  readonly #agents: LRUCache<string, Agent>;
  /** TLS settings built once per CA (140-odd root certificates parsed), not once per connection. */
  readonly #secureContexts: LRUCache<string, SecureContext>;
  /** What every check is lent (session.ts). */
  readonly #context: SessionContext;

  constructor(options: RegistryClientOptions = {}) {
    const clock = options.clock ?? systemClock;
    const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const checkTimeoutMs = options.checkTimeoutMs ?? 3 * requestTimeoutMs;
    const userAgent = options.userAgent ?? 'image-controller';
    this.#maxManifestBytes = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.#log = options.log ?? createLogger();
    this.#agents = new LRUCache({
      max: MAX_POOLS,
      ttl: POOL_IDLE_MS,
      updateAgeOnGet: true,
      // Requests in flight on a dropped pool finish first; close() waits for them.
      dispose: (agent) => void agent.close().catch(() => undefined),
      ...lruClock(clock),
    });
    this.#secureContexts = new LRUCache({ max: MAX_POOLS, ttl: REMEMBER_MS, updateAgeOnGet: true, ...lruClock(clock) });
    this.#context = {
      policy: new RegistryPolicy({
        allowedRegistries: options.allowedRegistries,
        classifyAddress: options.classifyAddress,
        lookup: options.lookup,
        buildConnector: options.buildConnector,
      }),
      transport: new Transport({ requestTimeoutMs, checkTimeoutMs, userAgent, onRequest: options.onRequest }),
      log: this.#log,
      userAgent,
      checkTimeoutMs,
      plainHttpEndpoints: new LRUCache<string, true>({ max: MAX_REMEMBERED, ttl: REMEMBER_MS, ...lruClock(clock) }),
      challenges: new LRUCache<string, AuthChallenge>({ max: MAX_REMEMBERED, ttl: REMEMBER_MS, ...lruClock(clock) }),
      tokens: new TokenCache(clock),
      pool: (url, caPem, allowLoopback) => this.#pool(url, caPem, allowLoopback),
    };
  }

  /** The digest `ref`'s tag points at now. Throws a `RegistryError` whose reason says what went wrong. */
  async resolveDigest(ref: ImageReference, options: ResolveOptions = {}): Promise<ResolvedDigest> {
    return this.#withSession(ref, options, (session) => resolveDigest(session, this.#maxManifestBytes, this.#log));
  }

  /**
   * Runs `work` with a reader of `ref`'s repository: one check, with the deadline, credentials and
   * registry policy `resolveDigest` has. Throws a `RegistryError` whose reason says what went wrong.
   */
  async readRepository<T>(ref: ImageReference, options: ResolveOptions, work: (reader: RepositoryReader) => Promise<T>): Promise<T> {
    return this.#withSession(ref, options, (session) => work(repositoryReader(session)));
  }

  /**
   * The tags of `ref`'s repository (its tag is not used), within `bounds`. Throws a `RegistryError` when
   * not even the first page could be had; a listing cut short by a bound says so in `truncated`.
   */
  async listTags(ref: ImageReference, options: ResolveOptions, bounds: TagListBounds): Promise<TagListing> {
    return this.#withSession(ref, options, (session) => listTags(session, bounds), `the tags of ${ref.repository}`);
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  /** How many connection pools are open, for tests of the bounds. */
  get pools(): number {
    return this.#agents.size;
  }

  async #withSession<T>(ref: ImageReference, options: ResolveOptions, work: (session: CheckSession) => Promise<T>, subject?: string): Promise<T> {
    // Unused pools are closed at the pace of checks: nothing to do while nothing is checked.
    this.#agents.purgeStale();
    const session = await CheckSession.open(this.#context, ref, options, subject);
    try {
      return await work(session);
    } finally {
      session.end();
    }
  }

  #pool(url: URL, caPem: string | undefined, allowLoopback: boolean): Agent {
    const caKey = caPem === undefined ? '' : createHash('sha256').update(caPem).digest('hex');
    const key = `${url.origin} ${caKey} ${allowLoopback ? 'loopback' : ''}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const tls = { secureContext: this.#secureContext(caKey, caPem) } as buildConnector.BuildOptions;
      agent = new Agent({
        connect: this.#context.policy.connector(tls, allowLoopback),
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
