/**
 * One check of one Image: decide what to do, do the one side effect it needs (ask the registry through
 * `deps.resolve`), and say what status to write, which Events to record and how the check ended (from
 * which next-check.ts decides when to come back).
 * Like Flux's Reconcile: pure apart from the injected resolver, so every decision is table-tested.
 */
import { ImageReason, type Image, type ImageEvent } from '../api/image.js';
import { isCheckError, type ImageReference } from '../registry/index.js';
import type { ParsedSpec } from './image-record.js';
import type { CheckEnd } from './next-check.js';
import { desiredStatus, statusPatch, truncateMessage, type CheckOutcome, type ImageStatusPatch } from './status.js';

/** What the registry said the tag points at. `latestImage` is `repo@sha256:…` under the reference as written. */
export interface Resolution {
  digest: string;
  mediaType: string;
  latestImage: string;
}

export interface ReconcileDeps {
  /** Asks the registry for the tag's digest; rejects with a RegistryError or CredentialsError whose reason goes on the condition. */
  resolve(image: Image, reference: ImageReference): Promise<Resolution>;
}

export interface ReconcileResult {
  /** Merge patch for `/status`, or undefined when the status is already right. */
  statusPatch?: ImageStatusPatch;
  events: ImageEvent[];
  /** How the check ended, once the patch is written: what next-check.ts decides the next check from. */
  end: Extract<CheckEnd, { kind: 'resolved' | 'failed' | 'idle' }>;
  /** Why the check ended as it did: DigestResolved or the failure's reason (for metrics and logs). */
  reason: ImageReason;
  /** True when the registry answered with a digest other than the one in status. */
  digestChanged: boolean;
}

/** Checks `image`, whose spec `spec` is (parsed once per generation, see image-record.ts). */
export async function reconcile(image: Image, spec: ParsedSpec, deps: ReconcileDeps, now: Date): Promise<ReconcileResult> {
  if (spec.suspended) return settle(image, { kind: 'suspended' }, now, { reason: ImageReason.Suspended, end: { kind: 'idle' } });
  if (!spec.valid) {
    const outcome = { kind: 'failed', reason: ImageReason.InvalidSpec, message: spec.invalid } as const;
    return settle(image, outcome, now, { reason: ImageReason.InvalidSpec, end: { kind: 'idle' }, events: [warning(outcome)] });
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
    return settle(image, outcome, now, { reason: ImageReason.DigestResolved, end: { kind: 'resolved' }, events, digestChanged });
  } catch (error) {
    const failure = asRegistryError(error);
    const outcome = { kind: 'failed', reason: failure.reason, message: failure.message } as const;
    return settle(image, outcome, now, {
      reason: failure.reason,
      end: { kind: 'failed', ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }) },
      events: [warning(outcome)],
    });
  }
}

function settle(
  image: Image,
  outcome: CheckOutcome,
  now: Date,
  rest: Pick<ReconcileResult, 'reason' | 'end'> & Partial<Pick<ReconcileResult, 'events' | 'digestChanged'>>,
): ReconcileResult {
  const patch = statusPatch(image.status, desiredStatus(image, outcome, now));
  return { events: [], digestChanged: false, ...rest, statusPatch: patch };
}

function warning(outcome: { reason: ImageReason; message: string }): ImageEvent {
  return { type: 'Warning', reason: outcome.reason, message: truncateMessage(outcome.message) };
}

/** Anything the resolver throws becomes a reason; an unexpected error is the registry path failing. */
function asRegistryError(error: unknown): { reason: ImageReason; message: string; retryAfterMs?: number } {
  if (isCheckError(error)) return error;
  return { reason: ImageReason.RegistryUnavailable, message: `checking the registry failed: ${error instanceof Error ? error.message : String(error)}` };
}
