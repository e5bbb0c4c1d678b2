/**
 * Time as the controller sees it: injected everywhere a decision depends on "now" or on waiting, so the
 * scheduler, backoff and leader election are tested with a hand-driven clock instead of real sleeps.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

/** setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days); longer waits are made of shorter ones. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    let timer: NodeJS.Timeout;
    const due = Date.now() + delayMs;
    const arm = (ms: number) => {
      timer = setTimeout(() => {
        const left = due - Date.now();
        if (left > 0) arm(left);
        else callback();
      }, Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS));
      timer.unref?.();
    };
    arm(delayMs);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `delayMs` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimer(done, delayMs);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * lru-cache's options that make it read `clock` for its TTLs. `ttlResolution: 0`: it otherwise keeps one
 * `now()` for a millisecond behind a real timer, which a test's hand-driven clock outruns.
 */
export function lruClock(clock: Pick<Clock, 'now'>): { perf: Pick<Clock, 'now'>; ttlResolution: 0 } {
  return { perf: clock, ttlResolution: 0 };
}
