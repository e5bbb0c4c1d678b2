/**
 * Which registries the controller may contact. `--allowed-registries` narrows it to host globs; and,
 * whatever the flag says, a registry that resolves to a link-local or cloud metadata address is refused:
 * anyone who may create an Image must not be able to make the controller probe 169.254.169.254.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ImageReason } from '../api/image.js';
import { RegistryError } from '../registry/index.js';

/** Metadata services reached by name or at addresses outside the link-local ranges. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);
const METADATA_ADDRESSES = new Set(['100.100.100.200', 'fd00:ec2::254']);

export type AddressLookup = (host: string) => Promise<string[]>;

const systemLookup: AddressLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface RegistryPolicyOptions {
  /** Host globs (`*.example.com`, `localhost:5000`); empty allows every registry. A glob without a port matches any port. */
  allowed: readonly string[];
  /** @default DNS lookup of every address */
  lookup?: AddressLookup;
}

export class RegistryPolicy {
  readonly #allowed: { pattern: RegExp; withPort: boolean }[];
  readonly #lookup: AddressLookup;

  constructor(options: RegistryPolicyOptions) {
    this.#allowed = options.allowed.map((glob) => ({ pattern: globPattern(glob), withPort: hasPort(glob) }));
    this.#lookup = options.lookup ?? systemLookup;
  }

  /** Throws RegistryNotAllowed unless `registry` (as the Image names it) may be checked by contacting `endpoint`. */
  async check(registry: string, endpoint: string): Promise<void> {
    if (this.#allowed.length > 0 && !this.#allowed.some(({ pattern, withPort }) => pattern.test(withPort ? registry : hostOf(registry)))) {
      throw new RegistryError(
        ImageReason.RegistryNotAllowed,
        `registry ${registry} is not in the controller's --allowed-registries; add it there or use an allowed registry`,
      );
    }
    const host = hostOf(endpoint).toLowerCase();
    if (METADATA_HOSTS.has(host)) throw refused(endpoint, host);
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.#lookup(host);
    } catch {
      return; // Unresolvable: the registry client reports it as RegistryUnavailable, with the DNS error.
    }
    const forbidden = addresses.find(isForbiddenAddress);
    if (forbidden) throw refused(endpoint, forbidden);
  }
}

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

function refused(endpoint: string, address: string): RegistryError {
  return new RegistryError(
    ImageReason.RegistryNotAllowed,
    `registry ${endpoint} resolves to ${address}, a link-local or cloud metadata address the controller never contacts`,
  );
}

/** `host:port` → `host`; `[::1]:5000` → `::1`. */
function hostOf(hostPort: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (bracketed) return bracketed[1]!;
  return hostPort.replace(/:\d+$/, '');
}

function hasPort(glob: string): boolean {
  return /:[\d*]+$/.test(glob);
}

function globPattern(glob: string): RegExp {
  const escaped = glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`, 'i');
}
