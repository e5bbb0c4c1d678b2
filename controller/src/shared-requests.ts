/**
 * Many Images watching the same tag with the same credentials ask the registry once: a request in flight
 * is shared, and a result (digest or failure) started no earlier than the asker's `notBefore` is reused.
 * So 1,000 Images on one tag make about one request per interval, and a failing registry is not hammered
 * by each Image's retries.
 */
import type { Clock } from './clock.js';

interface Attempt<T> {
  startedAt: number;
  result: Promise<T>;
}

/** Results older than this are never wanted (the longest `spec.interval`) and are swept away. */
const FORGET_AFTER_MS = 24 * 3_600_000;
const SWEEP_EVERY = 1_000;

export class SharedRequests<T> {
  readonly #clock: Clock;
  readonly #latest = new Map<string, Attempt<T>>();
  #calls = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * The outcome of `request` for `key`, from an attempt started at or after `notBefore` (epoch ms):
   * an attempt in flight or finished is reused when it is recent enough, else a new one starts.
   */
  run(key: string, notBefore: number, request: () => Promise<T>): Promise<T> {
    if (++this.#calls % SWEEP_EVERY === 0) this.#sweep();
    const latest = this.#latest.get(key);
    if (latest && latest.startedAt >= notBefore) return latest.result;
    const attempt = { startedAt: this.#clock.now(), result: request() };
    // Callers see the rejection; this copy only keeps an unobserved failure from being "unhandled".
    attempt.result.catch(() => undefined);
    this.#latest.set(key, attempt);
    return attempt.result;
  }

  #sweep(): void {
    const horizon = this.#clock.now() - FORGET_AFTER_MS;
    for (const [key, attempt] of this.#latest) if (attempt.startedAt < horizon) this.#latest.delete(key);
  }
}
