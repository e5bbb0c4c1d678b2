/**
 * Keeps the controller's one cache of Images (the CheckLoop's records) current with one loop: list →
 * hand the list over whole, watch from its resourceVersion → each event upserts or removes one Image;
 * 410 Gone (that version was compacted away) → list again; any other failure → one backoff on the
 * injected clock, then list again. A watch the server ends (its timeout), or that the client's inactivity
 * timeout ends, is resumed at once from the last resourceVersion seen; one that ends having delivered
 * nothing counts as a failure, so a server or proxy that closes watches at once cannot make it spin. A
 * watch can also stall without ending, so the loop lists again every `relistIntervalMs` whatever happens.
 * Objects are not kept here: only the resourceVersion to resume from.
 */
import type { Image } from '../api/image.js';
import { sleep, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { ImageWatchCalls } from './api.js';
import { describeApiError } from './client.js';

/** The cache the watch keeps current. */
export interface ImageCacheHandlers {
  upsert(image: Image): void;
  remove(image: Image): void;
  /** Every Image as of a complete list: those not in it are gone. */
  replaceAll(images: readonly Image[]): void;
}

export interface ImageWatchOptions {
  calls: ImageWatchCalls;
  /** Watch Images in this namespace only. @default all namespaces */
  namespace?: string;
  handlers: ImageCacheHandlers;
  clock: Clock;
  log: Logger;
  /** A healthy watch is still replaced by a fresh list this often, so a stalled one cannot hide changes for long. @default 10 min */
  relistIntervalMs?: number;
  /** Retries after failures wait 1 s, 2 s, … up to this. @default 30 s */
  maxBackoffMs?: number;
}

/** How one watch ended. */
type Ended =
  | { kind: 'stopped' }
  | { kind: 'relist' }
  /** 410 Gone: list again. */
  | { kind: 'gone' }
  /** The server or the client's inactivity timeout ended it: resume from `resourceVersion`. */
  | { kind: 'ended'; resourceVersion: string; delivered: number; timedOut: boolean }
  | { kind: 'failed'; error: unknown };

const isGone = (error: unknown) => {
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  return e?.statusCode === 410 || e?.code === 410;
};

export class ImageWatch {
  readonly #options: Required<Omit<ImageWatchOptions, 'namespace'>> & Pick<ImageWatchOptions, 'namespace'>;
  readonly #stopping = new AbortController();
  #loop?: Promise<void>;
  #synced = false;
  #markSynced!: () => void;
  /** Resolves when the first complete list has been handed over. */
  readonly firstSync = new Promise<void>((resolve) => (this.#markSynced = resolve));

  constructor(options: ImageWatchOptions) {
    this.#options = { relistIntervalMs: 10 * 60_000, maxBackoffMs: 30_000, ...options };
  }

  /** True once a complete list has been handed over; stays true across failures (the cache is still right, if old). */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops watching; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { calls, namespace, handlers, clock, log, relistIntervalMs, maxBackoffMs } = this.#options;
    const { signal } = this.#stopping;
    let failures = 0;
    /** Where the next watch starts; undefined: list first. */
    let resourceVersion: string | undefined;
    let relistAt = 0;
    while (!signal.aborted) {
      let ended: Ended;
      try {
        if (resourceVersion === undefined) {
          const listed = await calls.listImages(namespace);
          if (signal.aborted) break;
          handlers.replaceAll(listed.items);
          resourceVersion = listed.metadata?.resourceVersion ?? '';
          relistAt = clock.now() + relistIntervalMs;
          failures = 0;
          this.#synced = true;
          this.#markSynced();
        }
        ended = await this.#follow(resourceVersion, relistAt);
      } catch (error) {
        ended = { kind: 'failed', error };
      }
      switch (ended.kind) {
        case 'stopped':
          return;
        case 'relist':
          log.debug('relisting Images', { afterMs: relistIntervalMs });
          resourceVersion = undefined;
          continue;
        case 'gone':
          resourceVersion = undefined;
          continue;
        case 'ended':
          resourceVersion = ended.resourceVersion;
          // A client-side timeout has already waited: resume at once, or a quiet namespace goes unwatched.
          if (ended.delivered > 0 || ended.timedOut) {
            failures = 0;
            continue;
          }
          break;
        case 'failed': {
          resourceVersion = undefined;
          const { code, reason, message } = describeApiError(ended.error);
          log.warn('Image watch failed; listing again', { code, reason, error: message, attempt: failures + 1, delayMs: backoff(failures + 1, maxBackoffMs) });
          break;
        }
      }
      failures++;
      await sleep(clock, backoff(failures, maxBackoffMs), signal);
    }
  }

  /** Opens one watch from `resourceVersion` and passes its events to the cache until it ends, the relist is due or stop(). */
  #follow(resourceVersion: string, relistAt: number): Promise<Ended> {
    const { calls, namespace, handlers, clock } = this.#options;
    const { signal } = this.#stopping;
    let delivered = 0;
    let version = resourceVersion;
    /** The Status of an ERROR event: the watch ends after it. */
    let status: { code?: unknown } | undefined;
    return new Promise<Ended>((resolve) => {
      let request: { abort(): void } | undefined;
      let settled = false;
      const finish = (ended: Ended) => {
        if (settled) return;
        settled = true;
        cancelRelist();
        signal.removeEventListener('abort', onStop);
        request?.abort();
        resolve(ended);
      };
      const onStop = () => finish({ kind: 'stopped' });
      const cancelRelist = clock.setTimer(() => finish({ kind: 'relist' }), relistAt - clock.now());
      signal.addEventListener('abort', onStop, { once: true });
      if (signal.aborted) return onStop();
      const onEvent = (type: string, object: unknown) => {
        if (settled) return;
        delivered++;
        if (type === 'ERROR') {
          status = (object ?? {}) as { code?: unknown };
          return;
        }
        const image = object as Image;
        if (type === 'ADDED' || type === 'MODIFIED') handlers.upsert(image);
        else if (type === 'DELETED') handlers.remove(image);
        const seen = image?.metadata?.resourceVersion;
        if (seen) version = seen;
      };
      const onEnd = (error: unknown) => {
        if (isGone(status) || isGone(error)) return finish({ kind: 'gone' });
        // Shaped as an API refusal (`code`, `body`), so describeApiError reads its reason and message.
        if (status) return finish({ kind: 'failed', error: { code: status.code, body: status } });
        const timedOut = (error as { name?: unknown } | null | undefined)?.name === 'TimeoutError';
        if (error && !timedOut) return finish({ kind: 'failed', error });
        finish({ kind: 'ended', resourceVersion: version, delivered, timedOut });
      };
      calls.watchImages(namespace, resourceVersion, onEvent, onEnd).then(
        (opened) => {
          request = opened;
          if (settled) opened.abort();
        },
        (error: unknown) => finish({ kind: 'failed', error }),
      );
    });
  }
}

/** 1 s, 2 s, 4 s … after `failures` failures in a row, up to `maxMs`. */
function backoff(failures: number, maxMs: number): number {
  return Math.min(maxMs, 1000 * 2 ** Math.min(failures - 1, 20));
}
