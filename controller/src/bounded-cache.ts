/**
 * A map for state whose keys someone else controls (a registry's token scopes and realms, the origins
 * it redirects to, a tenant's Secrets): bounded in entries, in total size and in age, so no registry or
 * tenant can grow the controller's memory by inventing new keys. The least recently used entry goes
 * first; an entry older than its age limit is never returned.
 */
import type { Clock } from './clock.js';

export interface BoundedCacheOptions<V> {
  /** Most entries kept. */
  maxEntries: number;
  /** Longest an entry is kept after it was set, in ms, unless `set` gives a shorter one. */
  maxAgeMs: number;
  /** Most total `sizeOf` kept. @default unbounded (only `maxEntries` applies) */
  maxSize?: number;
  /** Size of one value, e.g. its bytes. @default 1 */
  sizeOf?: (value: V) => number;
  /** Whether a hit restarts the entry's age, so it goes when unused rather than when old. @default false */
  expireAfterAccess?: boolean;
  /** Called for each value dropped (evicted, expired, replaced or cleared), e.g. to close it. */
  onDrop?: (value: V) => void;
  clock: Pick<Clock, 'now'>;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  size: number;
}

export class BoundedCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #options: BoundedCacheOptions<V>;
  #size = 0;

  constructor(options: BoundedCacheOptions<V>) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, unless absent or expired; a hit makes it the most recently used (and, if so configured, young again). */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#options.clock.now() >= entry.expiresAt) {
      this.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#options.expireAfterAccess) entry.expiresAt = this.#options.clock.now() + this.#options.maxAgeMs;
    return entry.value;
  }

  /**
   * Keeps `value` for at most `maxAgeMs` (or the cache's limit, if shorter). A value larger than the
   * whole size budget is not kept.
   */
  set(key: K, value: V, maxAgeMs: number = this.#options.maxAgeMs): void {
    this.delete(key);
    const size = this.#options.sizeOf?.(value) ?? 1;
    const maxSize = this.#options.maxSize ?? Infinity;
    if (size > maxSize) {
      this.#options.onDrop?.(value);
      return;
    }
    const expiresAt = this.#options.clock.now() + Math.min(maxAgeMs, this.#options.maxAgeMs);
    this.#entries.set(key, { value, expiresAt, size });
    this.#size += size;
    for (const [oldest] of this.#entries) {
      if (this.#entries.size <= this.#options.maxEntries && this.#size <= maxSize) break;
      this.delete(oldest);
    }
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#size -= entry.size;
    this.#options.onDrop?.(entry.value);
  }

  /** Drops every expired entry; for callers that want unused entries gone before the next `get`. */
  sweep(): void {
    const now = this.#options.clock.now();
    for (const [key, entry] of this.#entries) if (now >= entry.expiresAt) this.delete(key);
  }

  values(): V[] {
    return [...this.#entries.values()].map((entry) => entry.value);
  }

  clear(): void {
    for (const key of [...this.#entries.keys()]) this.delete(key);
  }
}
