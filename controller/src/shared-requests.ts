/**
 * Many Images watching the same tag with the same credentials ask the registry once: a request in flight
 * is shared, and a result (digest or failure) started no earlier than the asker's `notBefore` is reused.
 * So 1,000 Images on one tag make about one request per interval, and a failing registry is not hammered
 * by each Image's retries.
 *
 * Keys come from what tenants write (references, credentials), so what is kept is bounded in both size
 * and age: answers are kept in the order their requests started, the oldest go first once there are
 * `maxEntries`, and none outlives `maxAgeMs`. A forgotten answer costs one more request, never a wrong one.
 *
 * Written here rather than with lru-cache (which the controller's other caches use): whether an answer
 * serves is decided per asker (`notBefore`), not by one age per entry.
 */
import type { Clock } from './clock.js';

interface Attempt<T> {
  startedAt: number;
  result: Promise<T>;
}

export interface SharedRequestsOptions {
  /** Most answers kept. @default 20,000 (twice the 10,000 Images the benchmark runs) */
  maxEntries?: number;
  /** Answers older than this are never wanted: the longest `spec.interval`. @default 24 h */
  maxAgeMs?: number;
}

export class SharedRequests<T> {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  /** In the order the attempts started (re-inserted on each new attempt), so the oldest is first. */
  readonly #latest = new Map<string, Attempt<T>>();

  constructor(clock: Clock, options: SharedRequestsOptions = {}) {
    this.#clock = clock;
    this.#maxEntries = options.maxEntries ?? 20_000;
    this.#maxAgeMs = options.maxAgeMs ?? 24 * 3_600_000;
  }

  /** Answers kept now. */
  get size(): number {
    return this.#latest.size;
  }

  /**
   * The outcome of `request` for `key`, from an attempt started at or after `notBefore` (epoch ms):
   * an attempt in flight or finished is reused when it is recent enough, else a new one starts.
   */
  run(key: string, notBefore: number, request: () => Promise<T>): Promise<T> {
    const latest = this.#latest.get(key);
    if (latest && latest.startedAt >= notBefore) return latest.result;
    const now = this.#clock.now();
    const attempt = { startedAt: now, result: request() };
    // Callers see the rejection; this copy only keeps an unobserved failure from being "unhandled".
    attempt.result.catch(() => undefined);
    this.#latest.delete(key);
    this.#latest.set(key, attempt);
    this.#forgetOld(now);
    return attempt.result;
  }

  /** Drops from the front (the oldest) while over the size bound or past the age bound: O(dropped). */
  #forgetOld(now: number): void {
    for (const [key, attempt] of this.#latest) {
      if (this.#latest.size <= this.#maxEntries && attempt.startedAt >= now - this.#maxAgeMs) return;
      this.#latest.delete(key);
    }
  }
}
