/**
 * A list, then a watch from the list's resourceVersion, keeping a map of the Images it has seen: what
 * client-node's ListWatch does, without importing it (its module loads client-node's generated models,
 * see rest.ts). The lifecycle around it (restarts with backoff, periodic relists, handing each fresh
 * list over whole) is ImageInformer's; this class only lists once and follows the watch.
 *
 * A watch the server ends (its timeout) or that goes quiet past client-node Watch's 30 s inactivity
 * timeout is resumed at once from the last resourceVersion seen; a 410 Gone (that version was
 * compacted away) lists again first; any other failure is reported to `error` and this ListWatch stops.
 * A watch that ends before it delivered anything is opened again after 1 s, 2 s, … up to 30 s, so a
 * server or proxy that closes watches at once cannot make it spin.
 */
import type { Image } from '../api/image.js';
import type { ImageListWatch } from './api.js';

export interface ImageList {
  items: Image[];
  metadata?: { resourceVersion?: string };
}

/** client-node's Watch.watch, as far as it is used here. */
export interface WatchSource {
  watch(
    path: string,
    query: Record<string, string | boolean | undefined>,
    callback: (phase: string, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }>;
}

type Verb = 'add' | 'update' | 'delete';

const MAX_RECONNECT_DELAY_MS = 30_000;

const keyOf = (image: Image) => `${image.metadata.namespace ?? ''}/${image.metadata.name}`;
const isGone = (error: unknown) => {
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  return e?.statusCode === 410 || e?.code === 410;
};

export class ListWatch implements ImageListWatch {
  readonly #objects = new Map<string, Image>();
  readonly #callbacks: Record<Verb | 'error', ((value: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  #resourceVersion = '';
  #request?: { abort(): void };
  #stopped = false;
  /** Events since the current watch opened; none means the next one waits `#reconnectDelayMs`. */
  #delivered = 0;
  #reconnectDelayMs = 0;

  constructor(
    private readonly path: string,
    private readonly source: WatchSource,
    private readonly listFn: () => Promise<ImageList>,
  ) {}

  on(verb: Verb, callback: (image: Image) => void): void;
  on(verb: 'error', callback: (error: unknown) => void): void;
  on(verb: Verb | 'error', callback: (value: never) => void): void {
    this.#callbacks[verb].push(callback);
  }

  list(): readonly Image[] {
    return [...this.#objects.values()];
  }

  /** Lists, then starts the watch; a failed list is reported to `error`, as client-node's does. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#resume(undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#request?.abort();
    this.#request = undefined;
  }

  #emit(verb: Verb, image: Image): void;
  #emit(verb: 'error', error: unknown): void;
  #emit(verb: Verb | 'error', value: unknown): void {
    for (const callback of this.#callbacks[verb].slice()) (callback as (value: unknown) => void)(value);
  }

  /** Called when the watch ended (or, with no error, to start): decides whether to list, watch again, or stop. */
  async #resume(error: unknown): Promise<void> {
    this.#request?.abort();
    this.#request = undefined;
    // stop() aborts the watch, which ends it with an error nobody needs to hear about.
    if (this.#stopped) return;
    // A client-side timeout has already waited 30 s: resume at once, or a quiet namespace goes unwatched.
    const timedOut = (error as { name?: unknown } | null | undefined)?.name === 'TimeoutError';
    if (isGone(error)) this.#resourceVersion = '';
    else if (error && !timedOut) {
      this.#emit('error', error);
      return;
    }
    if (this.#stopped) return;
    if (!this.#resourceVersion) {
      let listed: ImageList;
      try {
        listed = await this.listFn();
      } catch (failure) {
        this.#emit('error', failure);
        return;
      }
      if (this.#stopped) return;
      this.#replace(listed.items);
      this.#resourceVersion = listed.metadata?.resourceVersion ?? '';
    }
    const quietEnd = this.#delivered === 0 && !timedOut;
    if (quietEnd && this.#reconnectDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#reconnectDelayMs).unref());
    if (this.#stopped) return;
    this.#reconnectDelayMs = quietEnd ? Math.min(MAX_RECONNECT_DELAY_MS, Math.max(1000, this.#reconnectDelayMs * 2)) : 0;
    this.#delivered = 0;
    try {
      this.#request = await this.source.watch(
        this.path,
        { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true },
        (phase, object) => this.#onEvent(phase, object),
        (failure) => void this.#resume(failure),
      );
    } catch (failure) {
      this.#emit('error', failure);
      return;
    }
    // stop() may have come while the watch was being opened.
    if (this.#stopped) this.#request.abort();
  }

  #onEvent(phase: string, object: unknown): void {
    if (this.#stopped) return;
    this.#delivered++;
    if (phase === 'ERROR') {
      // The watch ends after it; `done` then lists again if the version is gone.
      if ((object as { code?: unknown } | null)?.code === 410) this.#resourceVersion = '';
      return;
    }
    const image = object as Image;
    if (phase === 'ADDED' || phase === 'MODIFIED') this.#upsert(image);
    else if (phase === 'DELETED') {
      const key = keyOf(image);
      if (this.#objects.delete(key)) this.#emit('delete', image);
    }
    const version = image?.metadata?.resourceVersion;
    if (version) this.#resourceVersion = version;
  }

  #upsert(image: Image): void {
    const key = keyOf(image);
    const known = this.#objects.get(key);
    this.#objects.set(key, image);
    if (!known) this.#emit('add', image);
    else if (known.metadata.resourceVersion !== image.metadata.resourceVersion) this.#emit('update', image);
  }

  /** A fresh list: Images not in it are deleted, the others added or updated. */
  #replace(items: readonly Image[]): void {
    const listed = new Set(items.map(keyOf));
    for (const [key, image] of this.#objects) {
      if (!listed.has(key)) {
        this.#objects.delete(key);
        this.#emit('delete', image);
      }
    }
    for (const image of items) this.#upsert(image);
  }
}
