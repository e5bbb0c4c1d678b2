/**
 * Where the controller may open a connection, decided when the connection opens, after DNS, for every
 * hop of a check: the registry, each redirect and each token realm. Anyone who may create an Image, or
 * runs a registry one names, must not be able to make the controller probe a cloud metadata service or
 * the Pod's own sidecars on loopback. Checking at connect time means a redirect, a token realm or a name
 * that resolves differently the second time (DNS rebinding) cannot slip past, and the addresses checked
 * are the very ones the socket connects to (Node connects to what the lookup callback returns).
 *
 * Every spelling of an address comes down to one: the URL parser already turns decimal, octal, hex and
 * short IPv4 forms into dotted quads (`http://0xa9fea9fe/` is `169.254.169.254`), and the IPv4 address
 * inside an IPv6 one (mapped `::ffff:`, compatible `::a.b.c.d`, SIIT `::ffff:0:`, NAT64 `64:ff9b::/96`
 * and `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`) is judged as that IPv4 address.
 */
import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

/** Metadata services reached by name, refused before any DNS lookup. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/**
 * Link-local (where AWS, GCP and Azure serve metadata: 169.254.169.254, fe80::/10) and the metadata
 * and host-agent addresses outside it: Alibaba's 100.100.100.200, Azure's wire server 168.63.129.16,
 * Oracle's 192.0.0.192, AWS's IPv6 fd00:ec2::254.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4');
FORBIDDEN.addAddress('168.63.129.16', 'ipv4');
FORBIDDEN.addAddress('192.0.0.192', 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

/** This host: 127.0.0.0/8 and ::1, and the unspecified addresses, which Linux connects to loopback. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addSubnet('0.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addAddress('::', 'ipv6');

export type AddressClass = 'forbidden' | 'loopback' | 'other';

/** What `address` (an IP literal, brackets and zone allowed) is, judging IPv4 inside IPv6 as IPv4. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'other';
  const candidates: [string, 'ipv4' | 'ipv6'][] = family === 4 ? [[bare, 'ipv4']] : [[bare, 'ipv6']];
  if (family === 6) for (const v4 of embeddedIPv4(bare)) candidates.push([v4, 'ipv4']);
  if (candidates.some(([a, type]) => FORBIDDEN.check(a, type))) return 'forbidden';
  if (candidates.some(([a, type]) => LOOPBACK.check(a, type))) return 'loopback';
  return 'other';
}

/** Link-local or a cloud metadata address, in any spelling. */
export function isForbiddenAddress(address: string): boolean {
  return classifyAddress(address) === 'forbidden';
}

/** A metadata service's well-known name, refused before any DNS lookup. */
export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host.toLowerCase().replace(/\.$/, ''));
}

/** The IPv4 addresses an IPv6 address carries, by the transition mechanisms that route to them. */
export function embeddedIPv4(address: string): string[] {
  const g = ipv6Groups(address);
  if (g === undefined) return [];
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const found: string[] = [];
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT), ::a.b.c.d (compatible, deprecated but routed by some stacks)
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0)) found.push(v4(g[6]!, g[7]!));
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) found.push(v4(g[6]!, g[7]!));
  // 64:ff9b::/96 (well-known NAT64 prefix) and 64:ff9b:1::/48 (local-use NAT64, last 32 bits)
  if (g[0] === 0x64 && g[1] === 0xff9b && (zero(2, 6) || g[2] === 1)) found.push(v4(g[6]!, g[7]!));
  // 2002:AABB:CCDD::/48 (6to4)
  if (g[0] === 0x2002) found.push(v4(g[1]!, g[2]!));
  // 2001:0:SSSS:SSSS:…:CCCC:CCCC (Teredo: server, and client with its bits inverted)
  if (g[0] === 0x2001 && g[1] === 0) found.push(v4(g[2]!, g[3]!), v4(g[6]! ^ 0xffff, g[7]! ^ 0xffff));
  return found;
}

/** The eight 16-bit groups of an IPv6 address, a trailing dotted quad included; undefined if not IPv6. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((x) => parseInt(x, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** Raised by the connector instead of connecting; the client reports it as RegistryNotAllowed. */
export class ForbiddenDestinationError extends Error {
  readonly code = 'ERR_FORBIDDEN_DESTINATION';
  constructor(
    readonly host: string,
    readonly address: string,
    why: string,
  ) {
    super(`${host} is ${address === host ? '' : `at ${address}, `}${why}`);
  }
}

export type AddressLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface DestinationPolicy {
  /** @default classifyAddress */
  classify?: (address: string) => AddressClass;
  /**
   * Whether loopback may be reached: only for the registry an Image names when that registry is itself
   * on loopback; never for where a remote registry redirects or sends for tokens (the Pod's sidecars).
   */
  allowLoopback: boolean;
  /** @default dns.lookup */
  lookup?: AddressLookup;
  /** Opens the socket. @default undici's buildConnector (tests pass one that records instead of connecting) */
  buildConnector?: typeof buildConnector;
}

/**
 * An undici connector that refuses what `policy` forbids: IP literals and metadata names before
 * anything else, names after their DNS lookup and before the socket connects.
 */
export function guardedConnector(options: buildConnector.BuildOptions, policy: DestinationPolicy): buildConnector.connector {
  const classify = policy.classify ?? classifyAddress;
  const lookup = policy.lookup ?? systemLookup;
  const refusal = (host: string, address: string): ForbiddenDestinationError | undefined => {
    const kind = classify(address);
    if (kind === 'forbidden') return new ForbiddenDestinationError(host, address, 'a link-local or cloud metadata address the controller never contacts');
    if (kind === 'loopback' && !policy.allowLoopback) {
      return new ForbiddenDestinationError(host, address, "on loopback, which the controller reaches only for an Image's own loopback registry");
    }
    return undefined;
  };
  const guardedLookup: AddressLookup = (hostname, lookupOptions, callback) => {
    lookup(hostname, lookupOptions, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
      for (const candidate of addresses) {
        const refused = refusal(hostname, candidate);
        if (refused) return callback(refused, address, family);
      }
      callback(null, address, family);
    });
  };
  const connect = (policy.buildConnector ?? buildConnector)({ ...options, lookup: guardedLookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node skips the lookup for IP literals, so they are judged here.
    const refused = isMetadataHost(host)
      ? new ForbiddenDestinationError(host, host, 'a cloud metadata service the controller never contacts')
      : isIP(host)
        ? refusal(host, host)
        : undefined;
    if (refused) {
      callback(refused, null);
      return;
    }
    return connect(connectOptions, callback);
  };
}
