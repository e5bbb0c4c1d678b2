/**
 * The loop: the informer's cache of Images drives a scheduler, each due Image goes through `reconcile`,
 * and its result is applied — a status merge patch only when something changed, Events, the next check.
 * Only the leader checks and writes; a standby keeps its cache warm and waits.
 */
import type { Image } from '../api/image.js';
import type { Clock } from '../clock.js';
import { describeApiError, type ImageStatusWriter } from '../kube/client.js';
import type { ImageCacheHandlers } from '../kube/informer.js';
import type { Leadership } from '../kube/leader.js';
import type { Logger } from '../log.js';
import { backoffDelay, intervalOf, reconcile, type ImageEvent, type ReconcileResult } from './reconcile.js';
import type { ImageResolver } from './resolver.js';
import { readyCondition } from './status.js';
import { CheckScheduler } from './scheduler.js';

export interface ImageControllerOptions {
  status: ImageStatusWriter;
  events: { record(image: Image, event: ImageEvent): Promise<void>; forget(namespace: string, name: string): void };
  resolve: ImageResolver;
  leadership: Leadership;
  clock: Clock;
  log: Logger;
  /** `--interval`. */
  defaultIntervalMs: number;
  /** `--concurrency`. */
  concurrency: number;
  /** Called after every check, for metrics. */
  onChecked?: (result: Pick<ReconcileResult, 'reason' | 'digestChanged'>) => void;
  /** Called when the API server refuses or fails a status patch (HTTP status, undefined without an answer), for metrics. */
  onStatusPatchFailed?: (code: number | undefined) => void;
  /** Called as each check starts with how late it is against its due time, for metrics. */
  onCheckStarted?: (lateMs: number) => void;
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

/** The delay after an Image's first check: uniform in (0, interval], never later than the interval promises. */
export function firstPeriod(intervalMs: number, random: () => number): number {
  return Math.max(1, Math.round(intervalMs * (1 - random())));
}

export function imageKey(image: Pick<Image, 'metadata'>): string {
  return `${image.metadata.namespace ?? ''}/${image.metadata.name}`;
}

export class ImageController implements ImageCacheHandlers {
  readonly #options: ImageControllerOptions;
  readonly #images = new Map<string, Image>();
  readonly #scheduler: CheckScheduler;
  readonly #failures = new Map<string, number>();
  /**
   * When each Image's last check ended: its next check needs a registry answer started after that, which
   * its own previous answer (started during that check, a few ms after the check began) never is.
   */
  readonly #lastCheckAt = new Map<string, number>();
  /** Notifications received per Image: its next check needs a registry answer started after it. */
  readonly #notifiedAt = new Map<string, number>();
  /** Pending looks again after notifications (cancelled by stop). */
  readonly #lookAgainTimers = new Set<() => void>();

  constructor(options: ImageControllerOptions) {
    this.#options = options;
    this.#scheduler = new CheckScheduler({
      clock: options.clock,
      concurrency: options.concurrency,
      log: options.log,
      run: (key) => this.#check(key),
      onStart: options.onCheckStarted,
    });
    if (!options.leadership.isLeader) this.#scheduler.pause();
  }

  /** Images in the cache. */
  get size(): number {
    return this.#images.size;
  }

  /** Checks due and waiting for a worker. */
  get queueDepth(): number {
    return this.#scheduler.waiting;
  }

  upsert = (image: Image): void => {
    const key = imageKey(image);
    const previous = this.#images.get(key);
    this.#images.set(key, image);
    // A new Image, a recreated one or a spec change is checked now; a status echo of our own patch is not.
    const specChanged = !previous || previous.metadata.uid !== image.metadata.uid || previous.metadata.generation !== image.metadata.generation;
    if (specChanged) {
      if (previous?.metadata.uid !== image.metadata.uid) this.#forgetHistory(key);
      this.#scheduler.expedite(key);
    }
  };

  remove = (image: Image): void => {
    const key = imageKey(image);
    this.#images.delete(key);
    this.#scheduler.cancel(key);
    this.#forgetHistory(key);
    this.#options.events.forget(image.metadata.namespace ?? '', image.metadata.name);
  };

  replaceAll = (images: readonly Image[]): void => {
    const present = new Set(images.map(imageKey));
    for (const image of [...this.#images.values()]) if (!present.has(imageKey(image))) this.remove(image);
    for (const image of images) this.upsert(image);
  };

  /**
   * Checks at once every Image `matches` selects, with a fresh registry answer (a push notification), and
   * again after each NOTIFICATION_LOOK_AGAIN_MS while `settled` (its status shows the pushed digest) is
   * false for some of them. Returns how many were scheduled now.
   */
  recheck(matches: (image: Image) => boolean, settled: (image: Image) => boolean = () => false): number {
    const count = this.#recheckNow(matches);
    if (count > 0) this.#lookAgain(0, (image) => matches(image) && !settled(image));
    return count;
  }

  #lookAgain(step: number, matches: (image: Image) => boolean): void {
    const delay = NOTIFICATION_LOOK_AGAIN_MS[step];
    if (delay === undefined) return;
    const cancel = this.#options.clock.setTimer(() => {
      this.#lookAgainTimers.delete(cancel);
      if (this.#recheckNow(matches) > 0) this.#lookAgain(step + 1, matches);
    }, delay - (NOTIFICATION_LOOK_AGAIN_MS[step - 1] ?? 0));
    this.#lookAgainTimers.add(cancel);
  }

  #recheckNow(matches: (image: Image) => boolean): number {
    const now = this.#options.clock.now();
    let count = 0;
    for (const [key, image] of this.#images) {
      if (!matches(image) || image.spec.suspend) continue;
      this.#notifiedAt.set(key, now);
      this.#scheduler.expedite(key);
      count++;
    }
    return count;
  }

  /** This replica became leader: check everything now, the previous leader's schedule is unknown. */
  startedLeading(): void {
    for (const key of this.#images.keys()) this.#scheduler.expedite(key);
    this.#scheduler.resume();
  }

  stoppedLeading(): void {
    this.#scheduler.pause();
  }

  /** Takes no more work; resolves when the checks in progress have finished. */
  stop(): Promise<void> {
    for (const cancel of this.#lookAgainTimers) cancel();
    this.#lookAgainTimers.clear();
    return this.#scheduler.stop();
  }

  #forgetHistory(key: string): void {
    this.#failures.delete(key);
    this.#lastCheckAt.delete(key);
    this.#notifiedAt.delete(key);
  }

  async #check(key: string): Promise<void> {
    const { clock, log, leadership, defaultIntervalMs, random } = this.#options;
    const image = this.#images.get(key);
    if (!image) return;
    const intervalMs = intervalOf(image, defaultIntervalMs);
    if (!leadership.isLeader) {
      // Leadership lapsed before the scheduler was paused; `startedLeading` expedites it again.
      this.#scheduler.schedule(key, intervalMs);
      return;
    }
    const startedAt = clock.now();
    const previousCheckAt = this.#lastCheckAt.get(key);
    // A shared registry answer serves this check if it is at most an interval old and started after this
    // Image's previous check ended (so a lone Image never gets its own answer back), and after any
    // notification. With periods of exactly the interval, the Images on one tag make one request per interval.
    const notBefore = Math.max(startedAt - intervalMs, (previousCheckAt ?? -Infinity) + 1, this.#notifiedAt.get(key) ?? -Infinity);
    const failures = this.#failures.get(key) ?? 0;
    const result = await reconcile(
      image,
      { resolve: (img, reference) => this.#options.resolve(img, reference, notBefore), defaultIntervalMs, random },
      new Date(startedAt),
      failures,
    );
    if (this.#images.get(key)?.metadata.uid !== image.metadata.uid) return; // deleted or recreated meanwhile
    this.#lastCheckAt.set(key, clock.now());
    if ((this.#notifiedAt.get(key) ?? Infinity) <= startedAt) this.#notifiedAt.delete(key);
    const imageLog = log.with({ namespace: image.metadata.namespace, image: image.metadata.name });
    if (!(await this.#apply(key, image, result, imageLog))) {
      const retries = failures + 1;
      this.#failures.set(key, retries);
      this.#scheduler.schedule(key, backoffDelay(retries, intervalMs, random));
      return;
    }
    this.#options.onChecked?.(result);
    this.#logResult(result, image, imageLog);
    this.#failures.set(key, result.failures);
    // A spec changed during the check (say, unsuspended) is checked again at once, whatever this result said.
    if (this.#images.get(key)?.metadata.generation !== image.metadata.generation) this.#scheduler.schedule(key, 0);
    else if (result.nextCheckInMs === undefined) this.#scheduler.cancel(key);
    // After its first check an Image's phase is set once, anywhere in its interval, so Images listed or
    // created together are spread evenly instead of polling in a burst; from then on its period is exact.
    else if (previousCheckAt === undefined && result.failures === 0) this.#scheduler.schedule(key, firstPeriod(result.nextCheckInMs, random ?? Math.random));
    else this.#scheduler.schedule(key, result.nextCheckInMs);
  }

  /** Writes the status patch and Events; false when the write failed (retried with backoff). */
  async #apply(key: string, image: Image, result: ReconcileResult, log: Logger): Promise<boolean> {
    const { status, events, leadership } = this.#options;
    if (!leadership.isLeader) return false;
    if (result.statusPatch) {
      const { namespace = '', name } = image.metadata;
      try {
        const updated = await status.patchImageStatus(namespace, name, result.statusPatch);
        if (!updated) {
          this.remove(image);
          return true;
        }
        // Diff the next check against what was written, not against a watch event that may lag; but
        // never replace a newer object the watch delivered during the check (a spec change).
        if (this.#images.get(key) === image) this.#images.set(key, updated);
      } catch (error) {
        // A 403 here is RBAC: the message names the permission the controller's ClusterRole lacks.
        const { code, reason, message } = describeApiError(error);
        log.warn('could not patch Image status', { code, reason, error: message, patch: Object.keys(result.statusPatch) });
        this.#options.onStatusPatchFailed?.(code);
        return false;
      }
    }
    for (const event of result.events) await events.record(image, event);
    return true;
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
