/**
 * Whether the controller may contact a host, answered in one place for every hop of a check: the
 * registry an Image names, each redirect and each token realm.
 *
 * - `--allowed-registries`: the Image's registry by the name it gives, every other hop by its host;
 * - link-local and cloud metadata addresses: never, whatever the flag says, refused up front for the
 *   registry (with a message naming it) and again when each connection opens, after DNS, for every hop
 *   (registry/destination.ts), so redirects, realms and DNS answers that change cannot slip past;
 * - loopback: only for an Image's own loopback registry, never for where a remote registry sends us;
 * - plain HTTP: for a loopback registry (and its own redirects and realms on loopback) or an Image marked
 *   `insecure`.
 */
import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { buildConnector } from 'undici';
import { ImageReason } from '../api/image.js';
import { hostOf, HostAllowList } from './allow-list.js';
import { classifyAddress, guardedConnector, isMetadataHost, type AddressClass, type AddressLookup } from './destination.js';
import { RegistryError } from './errors.js';

/** Where a request goes: the registry the Image names, where it redirected, or its token service. */
export type Hop = 'registry' | 'redirect' | 'realm';

export interface RegistryPolicyOptions {
  /**
   * Host globs (`--allowed-registries`: `*.example.com`, `localhost:5000`) every hop must match; a glob
   * without a port matches any port. @default [] (any host)
   */
  allowedRegistries?: readonly string[];
  /** What an address is. @default classifyAddress: link-local and cloud metadata addresses forbidden */
  classifyAddress?: (address: string) => AddressClass;
  /** How host names are resolved, up front and when connecting. @default dns.lookup */
  lookup?: AddressLookup;
  /** Opens sockets. @default undici's buildConnector (tests record attempts instead of connecting) */
  buildConnector?: typeof buildConnector;
}

/** The check a hop belongs to, as far as the policy needs to know it. */
export interface HopScope {
  /** `host[:port]` contacted for the Image's registry (an alias's in-cluster host, if any). */
  endpoint: string;
  /** The Image allows plain HTTP anywhere (`spec.insecure`, `--insecure`). */
  insecure: boolean;
  /** Who is asked, for messages: `registry localhost:5000`. */
  peer: string;
}

export class RegistryPolicy {
  readonly #allowed: HostAllowList;
  readonly #classify: (address: string) => AddressClass;
  readonly #lookup: AddressLookup;
  readonly #buildConnector?: typeof buildConnector;

  constructor(options: RegistryPolicyOptions = {}) {
    this.#allowed = new HostAllowList(options.allowedRegistries ?? []);
    this.#classify = options.classifyAddress ?? classifyAddress;
    this.#lookup = options.lookup ?? systemLookup;
    this.#buildConnector = options.buildConnector;
  }

  /**
   * Before a check's first request: throws RegistryNotAllowed unless `registry` (as the Image names it)
   * may be checked by contacting `endpoint`. A name that does not resolve passes: the request then fails
   * as RegistryUnavailable with the DNS error.
   */
  async admitRegistry(registry: string, endpoint: string): Promise<void> {
    const host = hostOf(endpoint).toLowerCase();
    // A metadata name or a forbidden literal address is refused for that reason whatever the flag says,
    // so the message names the real problem rather than a missing --allowed-registries entry.
    if (isMetadataHost(host)) throw refused(endpoint, host);
    if (isIP(host) && this.#forbidden(host)) throw refused(endpoint, host);
    if (!this.#allowed.allows(registry)) {
      throw new RegistryError(
        ImageReason.RegistryNotAllowed,
        `registry ${registry} is not in the controller's --allowed-registries; add it there or use an allowed registry`,
      );
    }
    if (isIP(host)) return;
    const addresses = await this.#addressesOf(host);
    const forbidden = addresses.find((address) => this.#forbidden(address));
    if (forbidden) throw refused(endpoint, forbidden);
  }

  /** Before every request: throws unless `url` may be asked for `hop` of the check `scope`. */
  assertHop(scope: HopScope, url: URL, hop: Hop): void {
    this.#assertAllowed(scope, url, hop);
    this.#assertPlainHttpAllowed(scope, url, hop);
  }

  /**
   * The connector of a pool: refuses forbidden addresses, and loopback unless `allowLoopback`, when each
   * connection opens (after DNS, so the addresses judged are the ones the socket connects to).
   */
  connector(options: buildConnector.BuildOptions, allowLoopback: boolean): buildConnector.connector {
    return guardedConnector(options, { allowLoopback, classify: this.#classify, lookup: this.#lookup, buildConnector: this.#buildConnector });
  }

  /** `--allowed-registries` holds for every hop; the Image's own registry is judged by the name it gives, up front. */
  #assertAllowed(scope: HopScope, url: URL, hop: Hop): void {
    if (hop === 'registry' || this.#allowed.allows(url.host)) return;
    const what = hop === 'redirect' ? 'redirected to' : 'sent for a token to';
    throw new RegistryError(
      ImageReason.RegistryNotAllowed,
      `${scope.peer} ${what} ${url.host}, which is not in the controller's --allowed-registries; add it there if it is trusted`,
    );
  }

  /**
   * Plain HTTP is for the loopback registry an Image names (and a token realm on loopback beside it), or
   * for an Image marked `insecure`; a redirect elsewhere, or a realm on another host, needs HTTPS.
   * Checked before every request (another Image marked insecure may have taught the client that an
   * endpoint is HTTP), so nothing is sent in clear where it should not be.
   */
  #assertPlainHttpAllowed(scope: HopScope, url: URL, hop: Hop): void {
    if (url.protocol !== 'http:' || scope.insecure) return;
    const loopbackRegistry = isLoopback(scope.endpoint);
    if (hop === 'registry' && loopbackRegistry) return;
    if (hop === 'redirect' && loopbackRegistry && url.host === scope.endpoint) return;
    if (hop === 'realm' && loopbackRegistry && isLoopback(url.host)) return;
    const what = { registry: 'would be contacted', redirect: 'redirected', realm: 'sent for a token' }[hop];
    const allowedFor = hop === 'registry' ? 'loopback registries' : 'the loopback registry an Image names';
    throw new RegistryError(
      ImageReason.InsecureNotAllowed,
      `${scope.peer} ${what} over plain HTTP at ${url.host}, which is allowed only for ${allowedFor}; ` +
        'set spec.insecure: true (--insecure for resolve) to allow it',
    );
  }

  #forbidden(address: string): boolean {
    return this.#classify(address) === 'forbidden';
  }

  /** Every address `host` resolves to; none when it does not resolve. */
  #addressesOf(host: string): Promise<string[]> {
    return new Promise((resolve) => {
      this.#lookup(host, { all: true, verbatim: true }, (error, addresses) => {
        resolve(error ? [] : (addresses as LookupAddress[]).map((entry) => entry.address));
      });
    });
  }
}

/**
 * Whether a check may use plain HTTP beyond loopback: the Image says so, or it names a loopback registry
 * that an alias stands in for (kind's `localhost:5000`, reached at its in-cluster host), which keeps
 * plain HTTP allowed as Docker allows it for loopback.
 */
export function allowsPlainHttp(insecure: boolean | undefined, registry: string, alias: string | undefined): boolean {
  return (insecure ?? false) || (alias !== undefined && isLoopback(registry));
}

/** `localhost`, 127.0.0.0/8 and `[::1]`, with or without a port: where plain HTTP cannot be intercepted. */
export function isLoopback(hostAndPort: string): boolean {
  const host = hostAndPort.startsWith('[')
    ? hostAndPort.slice(1, hostAndPort.indexOf(']'))
    : hostAndPort.replace(/:\d*$/, '');
  return /^(?:localhost|::1|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i.test(host);
}

function refused(endpoint: string, address: string): RegistryError {
  return new RegistryError(
    ImageReason.RegistryNotAllowed,
    `registry ${endpoint} resolves to ${address}, a link-local or cloud metadata address the controller never contacts`,
  );
}
