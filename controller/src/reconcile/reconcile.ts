/**
 * One check of one Image: decide what to do, do the one side effect it needs (ask the registry through
 * `deps.resolve`), and say what status to write, which Events to record and how the check ended (from
 * which next-check.ts decides when to come back).
 * Like Flux's Reconcile: pure apart from the injected resolver, so every decision is table-tested.
 */
import { ImageReason, MAX_VERIFICATION_MESSAGE_LENGTH, VerificationMode, type Image, type ImageEvent } from '../api/image.js';
import { isCheckError, type ImageReference } from '../registry/index.js';
import { TrustError, type Verdict, type VerificationPolicy } from '../signatures/index.js';
import type { ParsedSpec, ValidSpec } from './image-record.js';
import type { CheckEnd } from './next-check.js';
import { desiredStatus, statusPatch, truncateMessage, type CheckOutcome, type ImageStatusPatch, type VerificationStatus } from './status.js';

/** What the registry said the tag points at. `latestImage` is `repo@sha256:…` under the reference as written. */
export interface Resolution {
  digest: string;
  mediaType: string;
  latestImage: string;
  /** The tag a policy chose; absent without one. */
  tag?: string;
}

export interface ReconcileDeps {
  /**
   * Asks the registry for the tag's digest (choosing the tag first when the spec has a policy); rejects
   * with a RegistryError or CredentialsError whose reason goes on the condition.
   */
  resolve(image: Image, spec: ValidSpec): Promise<Resolution>;
  /**
   * Whether `digest` carries a signature that verifies under `policy`'s authorities (remembered per
   * digest and authorities); rejects with a TrustError for an unusable key or root Secret, or a
   * RegistryError when the signatures could not be read.
   */
  verify(image: Image, reference: ImageReference, digest: string, policy: VerificationPolicy): Promise<Verdict>;
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
    const resolution = await deps.resolve(image, spec);
    const previous = image.status?.digest;
    const digestChanged = previous !== resolution.digest;
    // With a tag policy, the tag it chose and why, e.g. `…/demo:1.3.0 (chosen by semver range >=1 <2)`.
    const chosenTag = resolution.tag === undefined ? spec.reference : spec.reference.withTag(resolution.tag);
    const subject = `${chosenTag.toString()}${spec.policy === undefined ? '' : ` (chosen by ${spec.policy.describe()})`}`;
    const resolvedMessage = `${subject} resolved to ${resolution.digest}`;
    let verification: VerificationStatus | undefined;
    const events: ImageEvent[] = [];
    if (spec.verification) {
      const verdict = await deps.verify(image, chosenTag, resolution.digest, spec.verification);
      verification = verificationStatus(verdict);
      if (!verdict.verified) {
        if (spec.verification.mode === VerificationMode.Enforce) {
          // Enforced: the digest never reaches latestImage; the last verified one stays deployed.
          const kept = image.status?.latestImage ? `; keeping ${image.status.latestImage}` : '; nothing is deployed until a signed digest appears';
          const outcome = { kind: 'failed', reason: ImageReason.SignatureUnverified, message: `${subject} now points to an unverified digest: ${verdict.message}${kept}`, verification } as const;
          // The registry answered: checked again at the interval (a signature may appear), not backed off.
          return settle(image, outcome, now, { reason: ImageReason.SignatureUnverified, end: { kind: 'resolved' }, events: [warning(outcome)] });
        }
        events.push(warning({ reason: ImageReason.SignatureUnverified, message: `deploying ${resolution.digest} of ${subject} unverified (spec.verification.mode is warn): ${verdict.message}` }));
      }
    }
    const signed = verification === undefined ? '' : verification.verified ? `; signature verified (authority "${verification.authority}")` : '; signature NOT verified (mode warn)';
    const outcome: CheckOutcome = { kind: 'resolved', ...resolution, message: resolvedMessage + signed, ...(verification ? { verification } : {}) };
    if (digestChanged) {
      events.unshift({ type: 'Normal', reason: ImageReason.DigestResolved, message: `${subject} now points to ${resolution.digest}${previous ? ` (was ${previous})` : ''}${signed}` });
    }
    return settle(image, outcome, now, { reason: ImageReason.DigestResolved, end: { kind: 'resolved' }, events, digestChanged });
  } catch (error) {
    const failure = asCheckError(error);
    const outcome = { kind: 'failed', reason: failure.reason, message: failure.message } as const;
    return settle(image, outcome, now, {
      reason: failure.reason,
      end: { kind: 'failed', ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }) },
      events: [warning(outcome)],
    });
  }
}

/** A verdict as status shows it; the message is cut to what the schema allows. */
function verificationStatus(verdict: Verdict): VerificationStatus {
  return {
    digest: verdict.digest,
    verified: verdict.verified,
    ...(verdict.authority ? { authority: verdict.authority } : {}),
    message: truncateMessage(verdict.message, MAX_VERIFICATION_MESSAGE_LENGTH),
  };
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

/** Anything the resolver or verifier throws becomes a reason; an unexpected error is the registry path failing. */
function asCheckError(error: unknown): { reason: ImageReason; message: string; retryAfterMs?: number } {
  if (isCheckError(error) || error instanceof TrustError) return error;
  return { reason: ImageReason.RegistryUnavailable, message: `checking the registry failed: ${error instanceof Error ? error.message : String(error)}` };
}
