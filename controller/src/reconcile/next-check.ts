/**
 * When an Image is checked next, decided in one place from its record and how its check ended: the
 * first period, the interval, backoff, Retry-After, failed status writes and lost leadership.
 */
import type { ImageRecord } from './image-record.js';

/** How a check ended, as far as its next check is concerned. */
export type CheckEnd =
  /** The registry answered with a digest and the status was written (or needed no write). */
  | { kind: 'resolved' }
  /** The registry (or the spec's credentials, policy …) failed; the failure was written. */
  | { kind: 'failed'; retryAfterMs?: number }
  /** Suspended or an invalid spec: nothing to check until the spec changes. */
  | { kind: 'idle' }
  /** The status patch was refused or got no answer: the result was not written. */
  | { kind: 'patchFailed' }
  /** This replica does not lead (any more): nothing was written, and nothing failed. */
  | { kind: 'paused' };

export interface NextCheck {
  /** Milliseconds until the next check; undefined means only when the spec changes. */
  delayMs?: number;
  /** The record's `failures` after this check. */
  failures: number;
  /** The record's `phased` after this check. */
  phased: boolean;
}

/** First retry after a failure; each further failure doubles it. */
export const FIRST_RETRY_MS = 1_000;
/** Retries back off to at most this, or to the Image's interval when that is shorter. */
export const MAX_RETRY_MS = 5 * 60_000;
/** Retries are spread ±10% so Images failing together don't retry in lockstep. */
export const JITTER = 0.1;

export function nextCheck(record: Pick<ImageRecord, 'spec' | 'failures' | 'phased'>, end: CheckEnd, random: () => number): NextCheck {
  const { intervalMs } = record.spec;
  const { phased } = record;
  switch (end.kind) {
    case 'resolved':
      // The phase is set once, anywhere in the interval, so Images listed or created together are spread
      // evenly instead of polling in a burst; from then on the period is exactly the interval, so Images
      // sharing a tag line up behind one registry request per interval.
      return { delayMs: phased ? intervalMs : firstPeriod(intervalMs, random), failures: 0, phased: true };
    case 'failed': {
      const failures = record.failures + 1;
      // Retry-After arrives clamped (registry/failures.ts, MAX_RETRY_AFTER_MS).
      return { delayMs: Math.max(backoffDelay(failures, intervalMs, random), end.retryAfterMs ?? 0), failures, phased };
    }
    case 'patchFailed': {
      const failures = record.failures + 1;
      return { delayMs: backoffDelay(failures, intervalMs, random), failures, phased };
    }
    case 'idle':
      return { delayMs: undefined, failures: 0, phased };
    case 'paused':
      // Not a failure: the scheduler is paused while standing by and every Image is checked on taking
      // the lead; this only covers a lead that lapsed and came back without the elector noticing.
      return { delayMs: intervalMs, failures: record.failures, phased };
  }
}

/** The delay after an Image's first check: uniform in (0, interval], never later than the interval promises. */
export function firstPeriod(intervalMs: number, random: () => number): number {
  return Math.max(1, Math.round(intervalMs * (1 - random())));
}

/**
 * Delay before the next try after `failures` failed checks in a row: 1 s, 2 s, 4 s … with jitter, capped at
 * the interval (a failing Image is retried at least as often as a healthy one is checked, so it recovers
 * within an interval of the fault clearing) and at 5 minutes for long intervals.
 */
export function backoffDelay(failures: number, intervalMs: number, random: () => number): number {
  const cap = Math.min(MAX_RETRY_MS, intervalMs);
  return jittered(Math.min(cap, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 30)), random);
}

function jittered(delayMs: number, random: () => number): number {
  return Math.round(delayMs * (1 - JITTER + 2 * JITTER * random()));
}
