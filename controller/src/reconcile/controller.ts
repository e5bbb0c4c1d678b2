/**
 * The loop: the informer's cache of Images drives a scheduler, each due Image goes through `reconcile`,
 * its result is applied — a status merge patch only when something changed, Events — and next-check.ts
 * says when to come back. One record per Image (image-record.ts) holds all that is known about it.
 * Only the leader checks and writes; a standby keeps its cache warm and waits.
 */
import { imageNamespace, type Image, type ImageEvent } from '../api/image.js';
import type { Clock } from '../clock.js';
import { describeApiError, type ImageStatusWriter } from '../kube/client.js';
import type { ImageCacheHandlers } from '../kube/informer.js';
import type { Leadership } from '../kube/leader.js';
import type { Logger } from '../log.js';
import type { ImageReference } from '../registry/index.js';
import { imageKey, newRecord, refreshRecord, type ImageRecord } from './image-record.js';
import type { ControllerMetrics } from './metrics.js';
import { nextCheck, type CheckEnd } from './next-check.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import type { ImageResolver } from './resolver.js';
import { readyCondition } from './status.js';
import { CheckScheduler } from './scheduler.js';

export interface ImageControllerOptions {
  status: ImageStatusWriter;
  events: { record(image: Image, event: ImageEvent): Promise<void>; forget(image: Image): void };
  resolve: ImageResolver;
  leadership: Leadership;
  clock: Clock;
  log: Logger;
  metrics: ControllerMetrics;
  /** `--interval`. */
  defaultIntervalMs: number;
  /** `--concurrency`. */
  concurrency: number;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * A notified Image is checked at once and again after each of these delays (from the notification) until
 * its status shows the pushed digest: docker-registry sends a manifest's push event before it moves the
 * tag (distribution's PutManifest notifies in `manifests.Put`, then tags), so the first HEAD can still see
 * the old digest. Quick looks first, because the tag usually moves milliseconds later.
 */
export const NOTIFICATION_LOOK_AGAIN_MS = [100, 300, 1_000, 3_000] as const;

export class ImageController implements ImageCacheHandlers {
  readonly #options: ImageControllerOptions;
  readonly #random: () => number;
  readonly #records = new Map<string, ImageRecord>();
  readonly #scheduler: CheckScheduler;
  /** Pending looks again after notifications (cancelled by stop). */
  readonly #lookAgainTimers = new Set<() => void>();

  constructor(options: ImageControllerOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#scheduler = new CheckScheduler({
      clock: options.clock,
      concurrency: options.concurrency,
      log: options.log,
      run: (key) => this.#check(key),
      metrics: options.metrics,
      hostOf: (key) => {
        const spec = this.#records.get(key)?.spec;
        return spec?.valid ? spec.reference.registry : '';
      },
    });
    if (!options.leadership.isLeader) this.#scheduler.pause();
    options.metrics.leading(options.leadership.isLeader);
    options.leadership.onChange((leading) => (leading ? this.#startedLeading() : this.#stoppedLeading()));
  }

  /** Images in the cache. */
  get size(): number {
    return this.#records.size;
  }

  /** Checks due and waiting for a worker. */
  get queueDepth(): number {
    return this.#scheduler.waiting;
  }

  upsert = (image: Image): void => {
    const key = imageKey(image);
    const record = this.#records.get(key);
    if (record && record.image.metadata.uid === image.metadata.uid) {
      // A spec change is checked now; a status echo of our own patch is not.
      if (refreshRecord(record, image, this.#options.defaultIntervalMs)) this.#scheduler.expedite(key);
      return;
    }
    // New, or deleted and recreated under the same name: nothing of the old one's history applies.
    if (record) this.#options.events.forget(record.image);
    this.#records.set(key, newRecord(image, this.#options.defaultIntervalMs));
    this.#options.metrics.imagesWatched(this.#records.size);
    this.#scheduler.expedite(key);
  };

  remove = (image: Image): void => {
    this.#forget(imageKey(image));
  };

  replaceAll = (images: readonly Image[]): void => {
    const present = new Set(images.map(imageKey));
    for (const key of [...this.#records.keys()]) if (!present.has(key)) this.#forget(key);
    for (const image of images) this.upsert(image);
  };

  /**
   * Checks at once every Image whose reference `matches` (a push notification), with a fresh registry
   * answer, and again after each NOTIFICATION_LOOK_AGAIN_MS while `settled` (its status shows the pushed
   * digest) is false for some of them. Returns how many were scheduled now.
   */
  recheck(matches: (reference: ImageReference) => boolean, settled: (image: Image) => boolean = () => false): number {
    const count = this.#recheckNow(matches, () => false);
    if (count > 0) this.#lookAgain(0, matches, settled);
    return count;
  }

  /** Takes no more work; resolves when the checks in progress have finished. */
  stop(): Promise<void> {
    for (const cancel of this.#lookAgainTimers) cancel();
    this.#lookAgainTimers.clear();
    return this.#scheduler.stop();
  }

  /** Deleting an Image is this one step: its record, its schedule and its Events' memory go together. */
  #forget(key: string): void {
    const record = this.#records.get(key);
    if (!record) return;
    this.#records.delete(key);
    this.#scheduler.cancel(key);
    this.#options.events.forget(record.image);
    this.#options.metrics.imagesWatched(this.#records.size);
  }

  /** This replica became leader: check everything now, the previous leader's schedule is unknown. */
  #startedLeading(): void {
    this.#options.metrics.leading(true);
    for (const key of this.#records.keys()) this.#scheduler.expedite(key);
    this.#scheduler.resume();
  }

  #stoppedLeading(): void {
    this.#options.metrics.leading(false);
    this.#scheduler.pause();
  }

  #lookAgain(step: number, matches: (reference: ImageReference) => boolean, settled: (image: Image) => boolean): void {
    const delay = NOTIFICATION_LOOK_AGAIN_MS[step];
    if (delay === undefined) return;
    const cancel = this.#options.clock.setTimer(() => {
      this.#lookAgainTimers.delete(cancel);
      if (this.#recheckNow(matches, settled) > 0) this.#lookAgain(step + 1, matches, settled);
    }, delay - (NOTIFICATION_LOOK_AGAIN_MS[step - 1] ?? 0));
    this.#lookAgainTimers.add(cancel);
  }

  #recheckNow(matches: (reference: ImageReference) => boolean, settled: (image: Image) => boolean): number {
    const now = this.#options.clock.now();
    let count = 0;
    for (const record of this.#records.values()) {
      const { spec } = record;
      if (!spec.valid || spec.suspended || !matches(spec.reference) || settled(record.image)) continue;
      record.notifiedAt = now;
      this.#scheduler.expedite(record.key);
      count++;
    }
    return count;
  }

  async #check(key: string): Promise<void> {
    const { clock, leadership, metrics } = this.#options;
    const record = this.#records.get(key);
    if (!record) return;
    if (!leadership.isLeader) return this.#schedule(record, { kind: 'paused' });
    const { image, spec } = record;
    const startedAt = clock.now();
    // A shared registry answer serves this check if it is at most an interval old and started after this
    // Image's previous check ended (so a lone Image never gets its own answer back), and after any
    // notification. With periods of exactly the interval, the Images on one tag make one request per interval.
    const notBefore = Math.max(startedAt - spec.intervalMs, (record.lastCheckAt ?? -Infinity) + 1, record.notifiedAt ?? -Infinity);
    const result = await reconcile(image, spec, { resolve: (img, reference) => this.#options.resolve(img, reference, notBefore) }, new Date(startedAt));
    if (this.#records.get(key) !== record) return; // deleted or recreated meanwhile
    record.lastCheckAt = clock.now();
    if ((record.notifiedAt ?? Infinity) <= startedAt) record.notifiedAt = undefined;
    const imageLog = this.#options.log.with({ namespace: image.metadata.namespace, image: image.metadata.name });
    const written = await this.#apply(record, result, imageLog);
    if (this.#records.get(key) !== record) return; // found gone by the patch, or deleted while it ran
    if (written.kind === 'resolved' || written.kind === 'failed' || written.kind === 'idle') {
      metrics.checked({ registry: spec.valid ? spec.reference.registry : '', reason: result.reason, digestChanged: result.digestChanged, durationMs: record.lastCheckAt - startedAt });
      this.#logResult(result, image, imageLog);
    }
    // A spec changed during the check (say, unsuspended) is checked again at once, whatever this result said.
    if (record.spec !== spec) this.#scheduler.schedule(key, 0);
    else this.#schedule(record, written);
  }

  #schedule(record: ImageRecord, end: CheckEnd): void {
    const next = nextCheck(record, end, this.#random);
    record.failures = next.failures;
    record.phased = next.phased;
    if (next.delayMs === undefined) this.#scheduler.cancel(record.key);
    else this.#scheduler.schedule(record.key, next.delayMs);
  }

  /**
   * Writes the status patch and Events; says how the check ended once written. The Events are recorded
   * even when the patch is refused: they are then the one place a person can read what happened.
   */
  async #apply(record: ImageRecord, result: ReconcileResult, log: Logger): Promise<CheckEnd> {
    const { status, events, leadership, metrics } = this.#options;
    const { image } = record;
    if (!leadership.isLeader) return { kind: 'paused' };
    let end: CheckEnd = result.end;
    if (result.statusPatch) {
      try {
        const updated = await status.patchImageStatus(imageNamespace(image), image.metadata.name, result.statusPatch);
        if (!updated) {
          this.#forget(record.key);
          return { kind: 'idle' };
        }
        // Diff the next check against what was written, not against a watch event that may lag; but
        // never replace a newer object the watch delivered during the check (a spec change).
        if (record.image === image) record.image = updated;
      } catch (error) {
        // A 403 here is RBAC: the message names the permission the controller's ClusterRole lacks.
        const { code, reason, message } = describeApiError(error);
        log.warn('could not patch Image status', { code, reason, error: message, patch: Object.keys(result.statusPatch) });
        metrics.statusPatchFailed(code);
        end = { kind: 'patchFailed' };
      }
    }
    for (const event of result.events) await events.record(image, event);
    return end;
  }

  #logResult(result: ReconcileResult, image: Image, log: Logger): void {
    const condition = result.statusPatch?.conditions?.find((c) => c.type === 'Ready');
    if (result.digestChanged) {
      log.info('new digest', { latestImage: result.statusPatch?.latestImage, was: image.status?.latestImage });
    } else if (condition && condition.reason !== readyCondition(image.status)?.reason) {
      const level = condition.status === 'False' ? 'warn' : 'info';
      log[level]('Ready condition changed', { status: condition.status, reason: condition.reason, message: condition.message });
    } else {
      log.debug('checked', { reason: result.reason });
    }
  }
}
