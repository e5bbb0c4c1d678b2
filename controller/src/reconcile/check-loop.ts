/**
 * The loop: the watch's cache of Images drives a scheduler, each due Image goes through `reconcile`,
 * its result is applied — a status merge patch only when something changed, Events — and next-check.ts
 * says when to come back, after a check and whenever something asks for one sooner. One record per Image
 * (image-record.ts) holds all that is known about it. Only the leader checks and writes; a standby keeps
 * its cache warm and waits.
 */
import { imageNamespace, type Image, type ImageEvent } from '../api/image.js';
import type { Clock } from '../clock.js';
import type { ImageStatusWriter } from '../kube/api.js';
import { describeApiError } from '../kube/client.js';
import type { ImageCacheHandlers } from '../kube/image-watch.js';
import type { Leadership } from '../kube/leader.js';
import type { Logger } from '../log.js';
import { imageKey, newRecord, refreshRecord, type ImageRecord, type ValidSpec } from './image-record.js';
import type { ControllerMetrics } from './metrics.js';
import { answerNotBefore, nextCheck, type CheckEnd, type CheckRequest } from './next-check.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import type { ImageResolver } from './resolver.js';
import type { SignatureCheck } from './signature-check.js';
import { readyCondition } from './status.js';
import { CheckScheduler } from './scheduler.js';

export interface CheckLoopOptions {
  status: ImageStatusWriter;
  events: { record(image: Image, event: ImageEvent): Promise<void>; forget(image: Image): void };
  resolve: ImageResolver;
  /** Checks a digest's signatures for Images with spec.verification (signature-check.ts). */
  verify: SignatureCheck;
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

/** A tag a registry notification says was pushed (server/notifications.ts parses them). */
export interface PushedTag {
  repository: string;
  tag: string;
  /** The digest the event says was pushed, when it says one: looking again stops once status shows it. */
  digest?: string;
}

/** `repository:tag`, the index key of notifications. */
function tagKey(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** The index key of an Image with a tag policy: a push of any tag of its repository may be its new choice. */
const ANY_TAG = '*';

/** The index key of a record, or undefined when its spec names no valid reference. */
function tagOf(record: ImageRecord): string | undefined {
  if (!record.spec.valid) return undefined;
  return tagKey(record.spec.reference.repository, record.spec.policy === undefined ? record.spec.reference.tag : ANY_TAG);
}

export class CheckLoop implements ImageCacheHandlers {
  readonly #options: CheckLoopOptions;
  readonly #random: () => number;
  readonly #records = new Map<string, ImageRecord>();
  readonly #scheduler: CheckScheduler;
  /** Keys of the Images watching each `repository:tag`, so a notification finds them without a scan. */
  readonly #byTag = new Map<string, Set<string>>();

  constructor(options: CheckLoopOptions) {
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
      const before = tagOf(record);
      if (!refreshRecord(record, image, this.#options.defaultIntervalMs)) return;
      this.#unindex(key, before);
      this.#index(record);
      this.#plan(record, { kind: 'specChanged' });
      return;
    }
    // New, or deleted and recreated under the same name: nothing of the old one's history applies.
    if (record) this.#forget(key);
    const created = newRecord(image, this.#options.defaultIntervalMs);
    this.#records.set(key, created);
    this.#index(created);
    this.#options.metrics.imagesWatched(this.#records.size);
    this.#plan(created, { kind: 'created' });
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
   * A registry says `pushed` tags moved: checks at once, with a fresh registry answer, every Image
   * watching one of them (found through the repository:tag index, not a scan), and looks again until its
   * status shows the pushed digest (next-check.ts). Duplicates are merged (the last push of a tag wins).
   * Returns how many Images were scheduled now. (server/http.ts bounds how many tags one envelope brings.)
   *
   * The registry host is not compared: the pusher's host (the event's `request.host`) is often another
   * name for the same registry (kind's `localhost:5000` is `kind-registry:5000` inside the cluster), and
   * a needless re-check costs one shared HEAD.
   */
  recheckPushed(pushed: readonly PushedTag[]): number {
    const tags = new Map<string, PushedTag>();
    for (const push of pushed) {
      for (const tag of [tagKey(push.repository, push.tag), tagKey(push.repository, ANY_TAG)]) {
        if (this.#byTag.has(tag)) tags.set(tag, push); // else nothing watches it
      }
    }
    const at = this.#options.clock.now();
    let count = 0;
    for (const [tag, push] of tags) {
      for (const key of this.#byTag.get(tag)!) {
        const record = this.#records.get(key)!;
        if (record.spec.suspended) continue;
        this.#plan(record, { kind: 'notified', at, digest: push.digest });
        count++;
      }
    }
    return count;
  }

  /** Takes no more work; resolves when the checks in progress have finished. */
  stop(): Promise<void> {
    return this.#scheduler.stop();
  }

  /** Deleting an Image is this one step: its record, its schedule and its Events' memory go together. */
  #forget(key: string): void {
    const record = this.#records.get(key);
    if (!record) return;
    this.#records.delete(key);
    this.#unindex(key, tagOf(record));
    this.#scheduler.cancel(key);
    this.#options.events.forget(record.image);
    this.#options.metrics.imagesWatched(this.#records.size);
  }

  /** This replica became leader: check everything now, the previous leader's schedule is unknown. */
  #startedLeading(): void {
    this.#options.metrics.leading(true);
    for (const record of this.#records.values()) this.#plan(record, { kind: 'leading' });
    this.#scheduler.resume();
  }

  #stoppedLeading(): void {
    this.#options.metrics.leading(false);
    this.#scheduler.pause();
  }

  #index(record: ImageRecord): void {
    const tag = tagOf(record);
    if (tag === undefined) return;
    let keys = this.#byTag.get(tag);
    if (!keys) this.#byTag.set(tag, (keys = new Set()));
    keys.add(record.key);
  }

  #unindex(key: string, tag: string | undefined): void {
    const keys = tag === undefined ? undefined : this.#byTag.get(tag);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.#byTag.delete(tag!);
  }

  async #check(key: string): Promise<void> {
    const { clock, leadership, metrics } = this.#options;
    const record = this.#records.get(key);
    if (!record) return;
    if (!leadership.isLeader) return this.#plan(record, { kind: 'paused' });
    const { image, spec } = record;
    const startedAt = clock.now();
    const { notBefore, notification } = answerNotBefore(record, startedAt);
    record.notification = notification;
    const deps = { resolve: (img: Image, valid: ValidSpec) => this.#options.resolve(img, valid, notBefore), verify: this.#options.verify };
    const result = await reconcile(image, spec, deps, new Date(startedAt));
    if (this.#records.get(key) !== record) return; // deleted or recreated meanwhile
    record.lastCheckAt = clock.now();
    const imageLog = this.#options.log.with({ namespace: image.metadata.namespace, image: image.metadata.name });
    const written = await this.#apply(record, result, imageLog);
    if (this.#records.get(key) !== record) return; // found gone by the patch, or deleted while it ran
    if (written.kind === 'resolved' || written.kind === 'failed' || written.kind === 'idle') {
      metrics.checked({ registry: spec.valid ? spec.reference.registry : '', reason: result.reason, digestChanged: result.digestChanged, durationMs: record.lastCheckAt - startedAt });
      this.#logResult(result, image, imageLog);
    }
    // A spec changed during the check (say, unsuspended) is checked again at once, whatever this result said.
    this.#plan(record, record.spec !== spec ? { kind: 'specChanged' } : written);
  }

  /** Carries out next-check.ts's decision: the one way any Image's next check is planned. */
  #plan(record: ImageRecord, event: CheckEnd | CheckRequest): void {
    const next = nextCheck(record, event, this.#random);
    record.failures = next.failures;
    record.phased = next.phased;
    record.notification = next.notification;
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
