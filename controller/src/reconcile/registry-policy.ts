/**
 * Which registries the controller may contact. `--allowed-registries` narrows it to host globs; and,
 * whatever the flag says, a registry that resolves to a link-local or cloud metadata address is refused
 * here, up front, with a message naming the Image's registry. (The registry client enforces the same
 * rule again when it connects, for redirects, token realms and DNS answers that change.)
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ImageReason } from '../api/image.js';
import { HostAllowList, hostOf, isForbiddenAddress, isMetadataHost, RegistryError } from '../registry/index.js';

export type AddressLookup = (host: string) => Promise<string[]>;

const systemLookup: AddressLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface RegistryPolicyOptions {
  /** Host globs (`*.example.com`, `localhost:5000`); empty allows every registry. A glob without a port matches any port. */
  allowed: readonly string[];
  /** @default DNS lookup of every address */
  lookup?: AddressLookup;
}

export class RegistryPolicy {
  readonly #allowed: HostAllowList;
  readonly #lookup: AddressLookup;

  constructor(options: RegistryPolicyOptions) {
    this.#allowed = new HostAllowList(options.allowed);
    this.#lookup = options.lookup ?? systemLookup;
  }

  /** Throws RegistryNotAllowed unless `registry` (as the Image names it) may be checked by contacting `endpoint`. */
  async check(registry: string, endpoint: string): Promise<void> {
    const host = hostOf(endpoint).toLowerCase();
    // A metadata name or a forbidden literal address is refused for that reason whatever the flag says,
    // so the message names the real problem rather than a missing --allowed-registries entry.
    if (isMetadataHost(host)) throw refused(endpoint, host);
    if (isIP(host) && isForbiddenAddress(host)) throw refused(endpoint, host);
    if (!this.#allowed.allows(registry)) {
      throw new RegistryError(
        ImageReason.RegistryNotAllowed,
        `registry ${registry} is not in the controller's --allowed-registries; add it there or use an allowed registry`,
      );
    }
    if (isIP(host)) return;
    let addresses: string[];
    try {
      addresses = await this.#lookup(host);
    } catch {
      return; // Unresolvable: the registry client reports it as RegistryUnavailable, with the DNS error.
    }
    const forbidden = addresses.find(isForbiddenAddress);
    if (forbidden) throw refused(endpoint, forbidden);
  }
}

function refused(endpoint: string, address: string): RegistryError {
  return new RegistryError(
    ImageReason.RegistryNotAllowed,
    `registry ${endpoint} resolves to ${address}, a link-local or cloud metadata address the controller never contacts`,
  );
}
