/**
 * One check of one Image: decide what to do, do the one side effect it needs (ask the registry through
 * `deps.resolve`), and say what status to write, which Events to record and when to come back.
 * Like Flux's Reconcile: pure apart from the injected resolver, so every decision is table-tested.
 */
import { ImageReason, MAX_INTERVAL, MIN_INTERVAL, type Image } from '../api/image.js';
import { isCheckError, parseImageReference, type ImageReference } from '../registry/index.js';
import { parseDuration } from './duration.js';
import { desiredStatus, statusPatch, type CheckOutcome, type ImageStatusPatch } from './status.js';

/** What the registry said the tag points at. `latestImage` is `repo@sha256:…` under the reference as written. */
export interface Resolution {
  digest: string;
  mediaType: string;
  latestImage: string;
}

export interface ReconcileDeps {
  /** Asks the registry for the tag's digest; rejects with a RegistryError or CredentialsError whose reason goes on the condition. */
  resolve(image: Image, reference: ImageReference): Promise<Resolution>;
  /** `--interval`: how often an Image without `spec.interval` is checked. */
  defaultIntervalMs: number;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: () => number;
}

/** A core/v1 Event to record against the Image. */
export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: ImageReason;
  message: string;
}

export interface ReconcileResult {
  /** Merge patch for `/status`, or undefined when the status is already right. */
  statusPatch?: ImageStatusPatch;
  events: ImageEvent[];
  /** When to check again; undefined means only when the spec changes (suspended, invalid). */
  nextCheckInMs?: number;
  /** Why the check ended as it did: DigestResolved or the failure's reason (for metrics and logs). */
  reason: ImageReason;
  /** Failed checks in a row, including this one: the next call's `failures`. */
  failures: number;
  /** True when the registry answered with a digest other than the one in status. */
  digestChanged: boolean;
}

/** First retry after a failure; each further failure doubles it. */
export const FIRST_RETRY_MS = 1_000;
/** Retries back off to at most this, or to the Image's interval when that is shorter. */
export const MAX_RETRY_MS = 5 * 60_000;
/** Retries are spread ±10% so Images failing together don't retry in lockstep. */
export const JITTER = 0.1;

const MIN_INTERVAL_MS = parseDuration(MIN_INTERVAL)!;
const MAX_INTERVAL_MS = parseDuration(MAX_INTERVAL)!;

export async function reconcile(image: Image, deps: ReconcileDeps, now: Date, failures = 0): Promise<ReconcileResult> {
  const random = deps.random ?? Math.random;
  if (image.spec.suspend) {
    return settle(image, { kind: 'suspended' }, now, { reason: ImageReason.Suspended, failures: 0 });
  }
  const spec = checkSpec(image, deps.defaultIntervalMs);
  if ('invalid' in spec) {
    const outcome = { kind: 'failed', reason: ImageReason.InvalidSpec, message: spec.invalid } as const;
    return settle(image, outcome, now, { reason: ImageReason.InvalidSpec, failures: 0, events: [warning(outcome)] });
  }
  try {
    const resolution = await deps.resolve(image, spec.reference);
    const previous = image.status?.digest;
    const digestChanged = previous !== resolution.digest;
    const outcome: CheckOutcome = {
      kind: 'resolved',
      ...resolution,
      message: `${spec.reference.toString()} resolved to ${resolution.digest}`,
    };
    const events: ImageEvent[] = digestChanged
      ? [{ type: 'Normal', reason: ImageReason.DigestResolved, message: `${spec.reference.toString()} now points to ${resolution.digest}${previous ? ` (was ${previous})` : ''}` }]
      : [];
    return settle(image, outcome, now, {
      reason: ImageReason.DigestResolved,
      failures: 0,
      events,
      digestChanged,
      // Exactly the interval: the controller spreads Images apart once, after their first check (see
      // firstPeriod), so an Image's period is the one its spec asks for and Images sharing a tag line
      // up behind one registry request per interval.
      nextCheckInMs: spec.intervalMs,
    });
  } catch (error) {
    const failure = asRegistryError(error);
    const outcome = { kind: 'failed', reason: failure.reason, message: failure.message } as const;
    const retryDelay = Math.max(backoffDelay(failures + 1, spec.intervalMs, random), failure.retryAfterMs ?? 0);
    return settle(image, outcome, now, { reason: failure.reason, failures: failures + 1, events: [warning(outcome)], nextCheckInMs: retryDelay });
  }
}

/**
 * Delay before the next try after `failures` failed checks in a row: 1 s, 2 s, 4 s … with jitter, capped at
 * the interval (a failing Image is retried at least as often as a healthy one is checked, so it recovers
 * within an interval of the fault clearing) and at 5 minutes for long intervals.
 */
export function backoffDelay(failures: number, intervalMs: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_RETRY_MS, intervalMs);
  return jittered(Math.min(cap, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 30)), random);
}

export function jittered(delayMs: number, random: () => number): number {
  return Math.round(delayMs * (1 - JITTER + 2 * JITTER * random()));
}

/** The reference and interval to check, or why the spec cannot be acted on. */
export function checkSpec(image: Image, defaultIntervalMs: number): { reference: ImageReference; intervalMs: number } | { invalid: string } {
  let intervalMs = defaultIntervalMs;
  if (image.spec.interval !== undefined) {
    const parsed = parseDuration(image.spec.interval);
    if (parsed === undefined) return { invalid: `spec.interval "${image.spec.interval}" is not a duration; write e.g. 10s or 1m30s` };
    if (parsed < MIN_INTERVAL_MS || parsed > MAX_INTERVAL_MS) {
      return { invalid: `spec.interval ${image.spec.interval} is outside ${MIN_INTERVAL}…${MAX_INTERVAL}; choose a value in that range` };
    }
    intervalMs = parsed;
  }
  try {
    return { reference: parseImageReference(image.spec.image), intervalMs };
  } catch (error) {
    return { invalid: asRegistryError(error).message };
  }
}

/** The interval an Image is checked at when all is well (`spec.interval`, else the default). */
export function intervalOf(image: Image, defaultIntervalMs: number): number {
  // Only the interval: checkSpec would also parse the reference, which reconcile does once per check anyway.
  const parsed = image.spec.interval === undefined ? undefined : parseDuration(image.spec.interval);
  return parsed !== undefined && parsed >= MIN_INTERVAL_MS && parsed <= MAX_INTERVAL_MS ? parsed : defaultIntervalMs;
}

function settle(
  image: Image,
  outcome: CheckOutcome,
  now: Date,
  rest: Omit<ReconcileResult, 'statusPatch' | 'events' | 'digestChanged'> & Partial<Pick<ReconcileResult, 'events' | 'digestChanged'>>,
): ReconcileResult {
  const patch = statusPatch(image.status, desiredStatus(image, outcome, now));
  return { events: [], digestChanged: false, nextCheckInMs: undefined, ...rest, statusPatch: patch };
}

function warning(outcome: { reason: ImageReason; message: string }): ImageEvent {
  return { type: 'Warning', reason: outcome.reason, message: outcome.message };
}

/** Anything the resolver throws becomes a reason; an unexpected error is the registry path failing. */
function asRegistryError(error: unknown): { reason: ImageReason; message: string; retryAfterMs?: number } {
  if (isCheckError(error)) return error;
  return { reason: ImageReason.RegistryUnavailable, message: `checking the registry failed: ${error instanceof Error ? error.message : String(error)}` };
}
