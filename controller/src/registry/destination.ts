/**
 * Addresses the controller never connects to, whoever names them: anyone who may create an Image (or
 * run a registry that redirects, or hands out a token realm) must not be able to make the controller
 * probe a cloud metadata service. Enforced when a connection is opened, after DNS, so a redirect, a
 * token realm or a name that resolves differently the second time (DNS rebinding) cannot slip past.
 */
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';

/** Metadata services reached by name or at addresses outside the link-local ranges. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);
const METADATA_ADDRESSES = new Set(['100.100.100.200', 'fd00:ec2::254']);

/** Link-local (169.254.0.0/16, fe80::/10, including IPv4-mapped forms) or a known metadata address. */
export function isForbiddenAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return isForbiddenAddress(mapped[1]!);
  if (METADATA_ADDRESSES.has(a)) return true;
  if (isIP(a) === 4) return a.startsWith('169.254.');
  if (isIP(a) === 6) return /^fe[89ab][0-9a-f]:/.test(a);
  return false;
}

/** A metadata service's well-known name, refused before any DNS lookup. */
export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host.toLowerCase().replace(/\.$/, ''));
}

/** Raised by the connector instead of connecting; the client reports it as RegistryNotAllowed. */
export class ForbiddenDestinationError extends Error {
  readonly code = 'ERR_FORBIDDEN_DESTINATION';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} is ${address === host ? '' : `at ${address}, `}a link-local or cloud metadata address the controller never contacts`);
  }
}

/**
 * An undici connector that refuses forbidden destinations: IP literals and metadata names up front,
 * names after their DNS lookup, before the socket connects.
 */
export function guardedConnector(
  options: buildConnector.BuildOptions,
  isForbidden: (address: string) => boolean = isForbiddenAddress,
): buildConnector.connector {
  const guardedLookup = (
    hostname: string,
    lookupOptions: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    lookup(hostname, lookupOptions, (error, address: string | LookupAddress[], family?: number) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
      const forbidden = addresses.find(isForbidden);
      if (forbidden !== undefined) return callback(new ForbiddenDestinationError(hostname, forbidden), address, family);
      callback(null, address, family);
    });
  };
  const connect = buildConnector({ ...options, lookup: guardedLookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node skips the lookup for IP literals, so they are checked here.
    if (isMetadataHost(host) || (isIP(host) && isForbidden(host))) {
      callback(new ForbiddenDestinationError(host, host), null);
      return;
    }
    return connect(connectOptions, callback);
  };
}
