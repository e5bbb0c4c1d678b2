import { sleep } from './processes.js';

export interface WaitOptions {
  /** @default 30_000 */
  timeoutMs?: number;
  /** @default 250 */
  intervalMs?: number;
  /** Called before every attempt; what it throws ends the wait at once (e.g. "etcd exited"). */
  abortIf?: () => void;
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns that.
 * A probe that throws is retried; on timeout the error says what was awaited and what the last
 * attempt saw, which is usually the reason.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 250, abortIf }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastSeen = 'nothing yet';
  for (;;) {
    abortIf?.();
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
      lastSeen = String(result);
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${description}; last: ${lastSeen}`);
    }
    await sleep(intervalMs);
  }
}
