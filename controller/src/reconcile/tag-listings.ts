/**
 * One tag listing per repository and credentials per interval, shared by every Image that asks: a
 * listing in flight is joined, and a finished one (or its failure) is reused by an Image whose check
 * needs an answer started no earlier than its `notBefore`, as SharedRequests does for digests.
 *
 * Listings are large (up to `--max-tags` tags each) and their keys come from tenants, so finished ones
 * are kept within a byte budget as well as a count and an age: a forgotten listing costs one more
 * listing, never a wrong choice.
 */
import { LRUCache } from 'lru-cache';
import { lruClock, type Clock } from '../clock.js';
import type { TagListing } from '../registry/index.js';

/** Bytes of tag text kept for sharing, a small part of the controller's 128 MiB heap. @see SharedTagListingsOptions */
export const DEFAULT_LISTING_BYTES = 16 * 1024 * 1024;

export interface SharedTagListingsOptions {
  /** Bytes of kept listings (tag text plus a per-tag overhead). @default DEFAULT_LISTING_BYTES */
  maxBytes?: number;
  /** Listings kept. @default 4,096 */
  maxEntries?: number;
  /** Listings older than this are never wanted: the longest `spec.interval`. @default 24 h */
  maxAgeMs?: number;
}

interface Attempt {
  startedAt: number;
  result: Promise<TagListing>;
}

/** What one tag costs beyond its characters: the string header and the array slot. */
const TAG_OVERHEAD_BYTES = 32;

export class SharedTagListings {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #inFlight = new Map<string, Attempt>();
  readonly #finished: LRUCache<string, Attempt & { bytes: number }>;

  constructor(clock: Pick<Clock, 'now'>, options: SharedTagListingsOptions = {}) {
    this.#clock = clock;
    this.#finished = new LRUCache<string, Attempt & { bytes: number }>({
      max: options.maxEntries ?? 4096,
      ttl: options.maxAgeMs ?? 24 * 3_600_000,
      maxSize: options.maxBytes ?? DEFAULT_LISTING_BYTES,
      sizeCalculation: (attempt) => attempt.bytes,
      ...lruClock(clock),
    });
  }

  /** The listing for `key` from an attempt started at or after `notBefore` (epoch ms), joined, reused or new. */
  run(key: string, notBefore: number, list: () => Promise<TagListing>): Promise<TagListing> {
    for (const attempt of [this.#inFlight.get(key), this.#finished.get(key)]) {
      if (attempt && attempt.startedAt >= notBefore) return attempt.result;
    }
    const attempt: Attempt = { startedAt: this.#clock.now(), result: list() };
    this.#inFlight.set(key, attempt);
    const settle = (bytes: number) => {
      if (this.#inFlight.get(key) === attempt) this.#inFlight.delete(key);
      this.#finished.set(key, { ...attempt, bytes });
    };
    attempt.result.then(
      (listing) => settle(listing.tags.reduce((sum, tag) => sum + tag.length + TAG_OVERHEAD_BYTES, TAG_OVERHEAD_BYTES)),
      () => settle(TAG_OVERHEAD_BYTES),
    );
    return attempt.result;
  }
}
