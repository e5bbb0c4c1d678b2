/**
 * Keeps an in-memory copy of the watched Images current around a list+watch (list-watch.ts, which
 * behaves as client-node 2.x's informer does): it stops for good on most errors (so it is rebuilt here
 * with capped backoff), it can stall silently (so it is rebuilt from a fresh list every
 * `relistIntervalMs`), and a rebuilt one sends no `add` for objects the cache already had (so every
 * fresh list is handed over whole, via `replaceAll`).
 */
import { sleep, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Image } from '../api/image.js';
import type { ImageListWatch } from './api.js';
import { describeApiError } from './client.js';

export interface ImageCacheHandlers {
  upsert(image: Image): void;
  remove(image: Image): void;
  /** Every Image as of a complete list: those not in it are gone. */
  replaceAll(images: readonly Image[]): void;
}

export interface ImageInformerOptions {
  /** Builds a fresh, unstarted list+watch. */
  makeInformer: () => ImageListWatch;
  handlers: ImageCacheHandlers;
  clock: Clock;
  log: Logger;
  /** A healthy informer is still rebuilt this often, so a stalled watch cannot hide changes for long. @default 10 min */
  relistIntervalMs?: number;
  /** Restarts after errors wait 1 s, 2 s, … up to this. @default 30 s */
  maxBackoffMs?: number;
}

export class ImageInformer {
  readonly #options: Required<ImageInformerOptions>;
  readonly #stopping = new AbortController();
  #current?: ImageListWatch;
  #loop?: Promise<void>;
  #synced = false;
  #markSynced!: () => void;
  /** Resolves when the first complete list has been handed over. */
  readonly firstSync = new Promise<void>((resolve) => (this.#markSynced = resolve));

  constructor(options: ImageInformerOptions) {
    this.#options = { relistIntervalMs: 10 * 60_000, maxBackoffMs: 30_000, ...options };
  }

  /** True once a complete list has been handed over; stays true across restarts (the cache is still right, if old). */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops watching; resolves once the informer in use has been stopped. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#current?.stop();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { clock, log, relistIntervalMs, maxBackoffMs } = this.#options;
    let failures = 0;
    while (!this.#stopping.signal.aborted) {
      const { failure, listed } = await this.#watchUntilDone();
      if (this.#stopping.signal.aborted) break;
      if (failure === undefined) {
        failures = 0;
        log.debug('relisting Images', { afterMs: relistIntervalMs });
        continue;
      }
      // A watch that breaks after a good list is a new outage: its backoff starts again at 1 s.
      failures = listed ? 1 : failures + 1;
      const delayMs = Math.min(maxBackoffMs, 1000 * 2 ** Math.min(failures - 1, 20));
      const { code, reason, message } = describeApiError(failure);
      log.warn('Image informer stopped; restarting', { code, reason, error: message, attempt: failures, delayMs });
      await sleep(clock, delayMs, this.#stopping.signal);
    }
  }

  /**
   * Runs one informer until it errors (`failure`) or its relist period ends (no `failure`); `listed`
   * says whether its list succeeded first.
   */
  async #watchUntilDone(): Promise<{ failure?: unknown; listed: boolean }> {
    const { makeInformer, handlers, clock, relistIntervalMs } = this.#options;
    const informer = makeInformer();
    this.#current = informer;
    let failure: { error: unknown } | undefined;
    let listed = false;
    const failed = new Promise<void>((resolve) =>
      informer.on('error', (error: unknown) => {
        failure ??= { error: error ?? new Error('watch ended') };
        resolve();
      }),
    );
    informer.on('add', handlers.upsert);
    informer.on('update', handlers.upsert);
    informer.on('delete', handlers.remove);
    try {
      await informer.start();
      // client-node reports a failed list through the error callback, not by rejecting: never treat
      // the empty cache of a failed list as "all Images were deleted".
      if (!failure && !this.#stopping.signal.aborted) {
        handlers.replaceAll(informer.list());
        listed = true;
        this.#synced = true;
        this.#markSynced();
        const watching = new AbortController();
        const relistDue = sleep(clock, relistIntervalMs, AbortSignal.any([this.#stopping.signal, watching.signal]));
        await Promise.race([failed, relistDue]);
        watching.abort();
      }
    } catch (error) {
      failure ??= { error };
    } finally {
      await informer.stop();
    }
    return failure ? { failure: failure.error, listed } : { listed };
  }
}
