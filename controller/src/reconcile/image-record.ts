/**
 * Everything the controller knows about one Image, in one place (controller-runtime's "one key, one
 * record"): the object as last seen, its spec parsed once per generation, and the check and notification
 * history the next-check decision reads. Deleting an Image drops its record, and with it all of that at once.
 */
import { imageNamespace, MAX_INTERVAL, MIN_INTERVAL, type Image } from '../api/image.js';
import { TagPolicy } from '../policy/index.js';
import { namesTag, parseImageReference, type ImageReference } from '../registry/index.js';
import { parseVerification, type VerificationPolicy } from '../signatures/index.js';
import { parseDuration } from './duration.js';
import type { Notification } from './next-check.js';

/** What a valid spec asks for once parsed. */
export interface ValidSpec {
  valid: true;
  /** The tag to follow, or with a policy the repository (its tag is the default and unused). */
  reference: ImageReference;
  intervalMs: number;
  suspended: boolean;
  /** `spec.policy` with its filters, compiled: the tag is chosen among the repository's. */
  policy?: TagPolicy;
  /** `spec.maxTags`, before the controller's cap. */
  maxTags?: number;
  /** `spec.verification`, parsed: the authorities a digest's signature must verify under. */
  verification?: VerificationPolicy;
}

/** What a spec asks for once parsed, or why it cannot be acted on. */
export type ParsedSpec = ValidSpec | { valid: false; invalid: string; intervalMs: number; suspended: boolean };

export interface ImageRecord {
  /** `namespace/name`. */
  readonly key: string;
  /** The object as last seen: from the watch, or the API server's answer to our own status patch. */
  image: Image;
  /** `image.spec` parsed at `image.metadata.generation`. */
  spec: ParsedSpec;
  /** Failed checks (or failed status writes) in a row. */
  failures: number;
  /** When the last check ended (epoch ms): the next one needs a registry answer started after it. */
  lastCheckAt?: number;
  /** The push notification for this Image's tag being followed up, if any (next-check.ts). */
  notification?: Notification;
  /** Whether the Image's place in its interval has been set (once, after its first successful check). */
  phased: boolean;
}

const MIN_INTERVAL_MS = parseDuration(MIN_INTERVAL)!;
const MAX_INTERVAL_MS = parseDuration(MAX_INTERVAL)!;

export function imageKey(image: Pick<Image, 'metadata'>): string {
  return `${imageNamespace(image)}/${image.metadata.name}`;
}

export function newRecord(image: Image, defaultIntervalMs: number): ImageRecord {
  return { key: imageKey(image), image, spec: parseSpec(image, defaultIntervalMs), failures: 0, phased: false };
}

/**
 * Takes a newer copy of the same Image (same uid) into `record`; the spec is parsed again only when the
 * generation moved. Returns true when it did, so the caller checks the Image again at once.
 */
export function refreshRecord(record: ImageRecord, image: Image, defaultIntervalMs: number): boolean {
  const specChanged = record.image.metadata.generation !== image.metadata.generation;
  record.image = image;
  if (specChanged) record.spec = parseSpec(image, defaultIntervalMs);
  return specChanged;
}

/** The reference and interval to check, or why the spec cannot be acted on. */
export function parseSpec(image: Image, defaultIntervalMs: number): ParsedSpec {
  const suspended = image.spec.suspend ?? false;
  const invalid = (message: string, intervalMs = defaultIntervalMs): ParsedSpec => ({ valid: false, invalid: message, intervalMs, suspended });
  let intervalMs = defaultIntervalMs;
  if (image.spec.interval !== undefined) {
    const parsed = parseDuration(image.spec.interval);
    if (parsed === undefined) return invalid(`spec.interval "${image.spec.interval}" is not a duration; write e.g. 10s or 1m30s`);
    if (parsed < MIN_INTERVAL_MS || parsed > MAX_INTERVAL_MS) {
      return invalid(`spec.interval ${image.spec.interval} is outside ${MIN_INTERVAL}…${MAX_INTERVAL}; choose a value in that range`);
    }
    intervalMs = parsed;
  }
  const { policy, filterTags, exclusionList, maxTags } = image.spec;
  if (policy !== undefined && namesTag(image.spec.image)) {
    return invalid(`spec.image ${JSON.stringify(image.spec.image)} names a tag, but spec.policy chooses the tag; write the repository without one`, intervalMs);
  }
  try {
    const reference = parseImageReference(image.spec.image);
    const verification = parseVerification(image.spec.verification);
    const valid: ValidSpec = { valid: true, reference, intervalMs, suspended, ...(verification ? { verification } : {}) };
    if (policy === undefined) return valid;
    return { ...valid, policy: new TagPolicy({ policy, filterTags, exclusionList }), maxTags };
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error), intervalMs);
  }
}
