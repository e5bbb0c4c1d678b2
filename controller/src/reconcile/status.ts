/**
 * The status an Image should have after a check, and the smallest merge patch that gets it there.
 * Nothing here reads a clock except to stamp a condition that flips, so an unchanged digest yields
 * no patch at all: the seed polled every 10 s, and a write per poll would be a write per Image per 10 s.
 */
import { isDeepStrictEqual } from 'node:util';
import { ImageReason, MAX_CONDITION_MESSAGE_LENGTH, type Image, type ImageCondition, type ImageStatus } from '../api/image.js';

/** The signature verdict status reports for the digest last looked at, when the Image asks for one. */
export type VerificationStatus = NonNullable<ImageStatus['verification']>;

/** What a check found, as far as status is concerned. */
export type CheckOutcome =
  | { kind: 'resolved'; digest: string; mediaType: string; latestImage: string; tag?: string; message: string; verification?: VerificationStatus }
  | { kind: 'failed'; reason: ImageReason; message: string; verification?: VerificationStatus }
  | { kind: 'suspended' };

/** The fields of `status` a merge patch may carry; every one is replaced wholesale. */
export type ImageStatusPatch = Partial<ImageStatus>;

export function readyCondition(status: ImageStatus | undefined): ImageCondition | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready');
}

/** The status the Image should have after `outcome`. A failure keeps the last digest so the Deployment keeps running it. */
export function desiredStatus(image: Image, outcome: CheckOutcome, now: Date): ImageStatus {
  const current = image.status ?? {};
  const generation = image.metadata.generation;
  const ready = ((): Omit<ImageCondition, 'lastTransitionTime' | 'type'> => {
    switch (outcome.kind) {
      case 'resolved':
        return { status: 'True', reason: ImageReason.DigestResolved, message: outcome.message };
      case 'failed':
        return { status: 'False', reason: outcome.reason, message: outcome.message };
      case 'suspended':
        // Ready stays True while a digest is kept: the supply chain can go on deploying it.
        return current.latestImage
          ? { status: 'True', reason: ImageReason.Suspended, message: `spec.suspend is true; keeping ${current.latestImage} until it is unset` }
          : { status: 'Unknown', reason: ImageReason.Suspended, message: 'spec.suspend is true; no digest has been resolved yet' };
    }
  })();
  const previous = readyCondition(current);
  const condition: ImageCondition = {
    type: 'Ready',
    ...ready,
    // A longer message makes the API server refuse the whole patch, and the Image would keep a stale Ready.
    message: truncateMessage(ready.message),
    // Kubernetes convention: the transition time moves only when the condition's status flips.
    lastTransitionTime: previous && previous.status === ready.status ? previous.lastTransitionTime : now.toISOString(),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  const resolved =
    outcome.kind === 'resolved'
      ? {
          latestImage: outcome.latestImage,
          ...(outcome.tag === undefined ? {} : { latestTag: outcome.tag }),
          complete: true,
          digest: outcome.digest,
          mediaType: outcome.mediaType,
        }
      : pick(current, ['latestImage', 'latestTag', 'complete', 'digest', 'mediaType']);
  // The verdict of the digest this check looked at, also when enforcing kept it out of latestImage; a
  // digest resolved without one (spec.verification removed) has none.
  const verification =
    outcome.kind !== 'suspended' && outcome.verification ? { verification: outcome.verification } : outcome.kind === 'resolved' ? {} : pick(current, ['verification']);
  return {
    ...resolved,
    ...verification,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    // Conditions other than Ready belong to someone else; keep them in place.
    conditions: [...(current.conditions ?? []).filter((c) => c.type !== 'Ready'), condition],
  };
}

/** `message` cut to what the CRD accepts (MAX_CONDITION_MESSAGE_LENGTH), saying so at the end. */
export function truncateMessage(message: string, limit = MAX_CONDITION_MESSAGE_LENGTH): string {
  const marker = ' … (truncated)';
  return message.length <= limit ? message : message.slice(0, limit - marker.length) + marker;
}

/** The merge patch from `current` to `desired`, or undefined when there is nothing to write. */
export function statusPatch(current: ImageStatus | undefined, desired: ImageStatus): ImageStatusPatch | undefined {
  const patch: ImageStatusPatch = {};
  for (const key of Object.keys(desired) as (keyof ImageStatus)[]) {
    // Deep equality ignores key order, which the API server may change.
    if (!isDeepStrictEqual(current?.[key], desired[key])) Object.assign(patch, { [key]: replacing(current?.[key], desired[key]) });
  }
  // A field the status should no longer have is removed (null, in a merge patch).
  for (const key of Object.keys(current ?? {})) if (!(key in desired)) Object.assign(patch, { [key]: null });
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * `desired` as a merge patch that replaces `current` wholesale: a merge patch merges objects key by key,
 * so a key `current` has and `desired` lacks (a verified digest's authority, once another digest is
 * not verified) is sent as null, which removes it.
 */
function replacing(current: unknown, desired: unknown): unknown {
  if (!isPlainObject(current) || !isPlainObject(desired)) return desired;
  const removed = Object.keys(current).filter((key) => !(key in desired));
  return { ...desired, ...Object.fromEntries(removed.map((key) => [key, null])) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
