/**
 * When an Image is checked next, decided in one place from its record and what just happened: a new
 * Image, a spec change, a push notification or taking the lead ask for a check now; after a check, the
 * first period, the interval, backoff, Retry-After, failed status writes and lost leadership decide, or
 * the notification's next look again when that is sooner. The controller loop only carries this out
 * (check-loop.ts), with the one timer of its scheduler (scheduler.ts).
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

/** Something that asks for a check now, whatever was planned. */
export type CheckRequest =
  /** A new Image, or one deleted and recreated under the same name. */
  | { kind: 'created' }
  /** A new generation: its spec changed (before or during its check). */
  | { kind: 'specChanged' }
  /** This replica took the lead: the previous leader's schedule is unknown. */
  | { kind: 'leading' }
  /** A registry notification says the Image's tag was pushed, at `at` (epoch ms), naming `digest` if it says one. */
  | { kind: 'notified'; at: number; digest?: string };

/**
 * A push notification being followed up: the registry sends it before it moves the tag (distribution's
 * PutManifest notifies in `manifests.Put`, then tags), so the first look can still see the old digest.
 */
export interface Notification {
  /** When it arrived (epoch ms). */
  readonly at: number;
  /** The digest it named, if any: looking again stops once status shows it. */
  readonly digest?: string;
  /** How many of its looks (NOTIFICATION_LOOKS) a check has started on. */
  readonly looked: number;
}

/**
 * A notified Image is checked at once and again after each of these delays (from the notification) until
 * its status shows the pushed digest. Quick looks first, because the tag usually moves milliseconds later.
 */
export const NOTIFICATION_LOOK_AGAIN_MS = [100, 300, 1_000, 3_000] as const;
/** Each look's delay from the notification: at once, then the looks again. */
const NOTIFICATION_LOOKS = [0, ...NOTIFICATION_LOOK_AGAIN_MS];

export interface NextCheck {
  /** Milliseconds until the next check; undefined means only when the spec changes. */
  delayMs?: number;
  /** The record's `failures` after this. */
  failures: number;
  /** The record's `phased` after this. */
  phased: boolean;
  /** The record's `notification` after this. */
  notification?: Notification;
}

/** First retry after a failure; each further failure doubles it. */
export const FIRST_RETRY_MS = 1_000;
/** Retries back off to at most this, or to the Image's interval when that is shorter. */
export const MAX_RETRY_MS = 5 * 60_000;
/** Retries are spread ±10% so Images failing together don't retry in lockstep. */
export const JITTER = 0.1;

/** What of the record the decision reads; `lastCheckAt` and `image` only matter with a notification. */
export type CheckHistory = Pick<ImageRecord, 'spec' | 'failures' | 'phased'> & Partial<Pick<ImageRecord, 'image' | 'lastCheckAt' | 'notification'>>;

export function nextCheck(record: CheckHistory, event: CheckEnd | CheckRequest, random: () => number): NextCheck {
  const { failures, phased, notification } = record;
  switch (event.kind) {
    case 'created':
    case 'specChanged':
    case 'leading':
      return { delayMs: 0, failures, phased, notification };
    case 'notified':
      // A newer push of the tag replaces the one being followed up.
      return { delayMs: 0, failures, phased, notification: { at: event.at, digest: event.digest, looked: 0 } };
    default: {
      const after = afterCheck(record, event, random);
      const look = nextLook(record, event);
      if (look === undefined) return after;
      return { ...after, delayMs: Math.min(after.delayMs ?? Infinity, look.delayMs), notification: look.notification };
    }
  }
}

/** The next check as the check's own outcome decides it. */
function afterCheck(record: CheckHistory, end: CheckEnd, random: () => number): NextCheck {
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

/**
 * The notification's next look after a check, or undefined when it is done with: the status shows the
 * pushed digest, every look has been made, or the Image is idle or this replica does not lead.
 */
function nextLook(record: CheckHistory, end: CheckEnd): { delayMs: number; notification: Notification } | undefined {
  const { notification, lastCheckAt } = record;
  if (notification === undefined || end.kind === 'idle' || end.kind === 'paused') return undefined;
  if (notification.digest !== undefined && record.image?.status?.digest === notification.digest) return undefined;
  const offset = NOTIFICATION_LOOKS[notification.looked];
  if (offset === undefined) return undefined;
  const due = notification.at + offset;
  // A look that fell due while the check ran is made at once: that check may have asked too early.
  return { delayMs: Math.max(0, due - (lastCheckAt ?? due)), notification };
}

/**
 * What registry answer a check starting at `startedAt` may use: one started at or after the returned
 * `notBefore` (epoch ms). That is at most an interval old; after this Image's previous check ended, so a
 * lone Image never gets its own answer back; and after the notification's latest look this check covers.
 * With periods of exactly the interval, the Images on one tag make one request per interval. Returns the
 * notification with the looks this check covers counted.
 */
export function answerNotBefore(record: CheckHistory, startedAt: number): { notBefore: number; notification?: Notification } {
  const oldest = Math.max(startedAt - record.spec.intervalMs, (record.lastCheckAt ?? -Infinity) + 1);
  const { notification } = record;
  if (notification === undefined) return { notBefore: oldest };
  let looked = notification.looked;
  while (looked < NOTIFICATION_LOOKS.length && notification.at + NOTIFICATION_LOOKS[looked]! <= startedAt) looked++;
  // A check that started before the notification covers none of its looks, and waits for no future answer.
  const lookedAt = looked === 0 ? -Infinity : notification.at + NOTIFICATION_LOOKS[looked - 1]!;
  return { notBefore: Math.max(oldest, lookedAt), notification: { ...notification, looked } };
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
