/**
 * The verdict for a digest under an Image's authorities, remembered per (repository, digest,
 * authorities): a digest verified once is not asked about again until the verdict ages out (or its
 * keyless certificate expires), so a steady-state check costs no registry request beyond its HEAD.
 * A digest that did not verify is asked about again at the next check: signing it later must count.
 */
import { LRUCache } from 'lru-cache';
import { lruClock, type Clock } from '../clock.js';
import { referrersTag, signatureTag } from './cosign.js';
import type { RepositoryReader } from '../registry/index.js';
import { referrerSignatures, tagSchemeSignatures } from './locate.js';
import { fingerprint, type Authority } from './trust.js';
import { checkSignature } from './verify.js';

export interface Verdict {
  digest: string;
  verified: boolean;
  /** The authority whose signature verified. */
  authority?: string;
  /** Who signed, or why nothing verified, for a person. */
  message: string;
}

/** Runs `work` with a reader of the Image's repository, within one registry check. */
export type OpenRepository = <T>(work: (reader: RepositoryReader) => Promise<T>) => Promise<T>;

export interface VerdictCacheOptions {
  clock: Pick<Clock, 'now'>;
  /** Most verdicts kept. @default 4096 */
  maxEntries?: number;
  /** Longest a verdict is trusted before the signatures are read again. @default 24 h */
  maxAgeMs?: number;
}

/** Reasons a message lists before it says how many more there were: it ends up in a condition and an Event. */
const REASONS_IN_MESSAGE = 4;

export class SignatureVerifier {
  readonly #verified: LRUCache<string, Verdict>;
  readonly #maxAgeMs: number;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(options: VerdictCacheOptions) {
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.#verified = new LRUCache({ max: options.maxEntries ?? 4096, ttl: this.#maxAgeMs, ...lruClock(options.clock) });
  }

  /** How many verified verdicts are kept, for tests of the bound. */
  get size(): number {
    return this.#verified.size;
  }

  /**
   * Whether `digest` in `repository` (`registry/path`) has a signature that verifies under one of
   * `authorities`; only when no verdict is remembered is the repository read, through `open`.
   * Registry failures reject (with the registry's reason); a signature that cannot be read or does
   * not verify is a reason in the verdict.
   */
  async verify(open: OpenRepository, repository: string, digest: string, authorities: readonly Authority[]): Promise<Verdict> {
    const key = `${repository}@${digest}|${fingerprint(authorities)}`;
    const remembered = this.#verified.get(key);
    if (remembered !== undefined) return remembered;
    return open((reader) => this.#read(reader, key, digest, authorities));
  }

  async #read(reader: RepositoryReader, key: string, digest: string, authorities: readonly Authority[]): Promise<Verdict> {
    const reasons: string[] = [];
    let signatures = 0;
    for (const read of [tagSchemeSignatures, referrerSignatures]) {
      const source = await read(reader, digest);
      signatures += source.found.length;
      const now = this.#clock.now();
      for (const found of source.found) {
        for (const authority of authorities) {
          const check = checkSignature(found, digest, authority, now);
          if (check.verified) {
            const verdict: Verdict = { digest, verified: true, authority: check.authority, message: `${found.where} verifies: signed by ${check.signer}` };
            // Until the certificate expires, and never longer than maxAgeMs.
            this.#verified.set(key, verdict, { ttl: Math.max(1, Math.min(this.#maxAgeMs, check.validUntil - now)) });
            return verdict;
          }
          reasons.push(check.reason);
        }
      }
      reasons.push(...source.notes);
    }
    return { digest, verified: false, message: unverifiedMessage(digest, signatures, reasons) };
  }
}

function unverifiedMessage(digest: string, signatures: number, reasons: string[]): string {
  const looked = `tag ${signatureTag(digest)}, referrers and tag ${referrersTag(digest)}`;
  if (reasons.length === 0) return `${digest} has no cosign signature (looked in ${looked}); sign it with cosign sign`;
  const shown = reasons.slice(0, REASONS_IN_MESSAGE).join('; ');
  const more = reasons.length > REASONS_IN_MESSAGE ? `; and ${reasons.length - REASONS_IN_MESSAGE} more` : '';
  return `no signature of ${digest} verifies (${signatures} found in ${looked}): ${shown}${more}`;
}
