/**
 * Runs each Image's check when it falls due (next-check.ts decides when), and decides who checks it now.
 * One timer for all Images (a min-heap of due
 * times), so 10,000 Images cost one setTimeout; a work queue keyed by namespace/name that bounds
 * concurrency and never runs the same key twice at once (a key that falls due while running runs again after).
 *
 * Fairness: due checks are taken namespace by namespace in turn, and at most `perHostConcurrency` run
 * against one registry host. So a tenant whose registry is slow or hostile holds at most half the
 * workers through one host, and when every worker is busy with its checks, the next one to finish goes
 * to the next namespace waiting: another tenant's due check waits for at most one of those checks (each
 * bounded by the request timeouts), not for the hostile tenant's whole queue.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { ControllerMetrics } from './metrics.js';
import { ReadyQueue } from './ready-queue.js';

export interface SchedulerOptions {
  clock: Clock;
  /** Most checks running at once (`--concurrency`). */
  concurrency: number;
  /** Checks one key; expected to call `schedule` for its next check. Rejections are logged, never thrown. */
  run: (key: string) => Promise<void>;
  log: Logger;
  /** Told how late each check starts against its due time, and how many wait for a worker. */
  metrics: Pick<ControllerMetrics, 'checkStarted' | 'queueDepth'>;
  /** The registry host a key's check talks to, for the per-host limit. @default every key on one host */
  hostOf?: (key: string) => string;
  /** Most checks running at once against one registry host. @default max(1, concurrency / 2) with `hostOf`, else concurrency */
  perHostConcurrency?: number;
}

/** Below this many heap entries stale ones are left for #dropStale; compacting a small heap gains nothing. */
const COMPACT_ABOVE = 1_024;

interface HeapEntry {
  due: number;
  /** Breaks ties between equal due times: first scheduled, first run. */
  seq: number;
  key: string;
}

export class CheckScheduler {
  readonly #options: SchedulerOptions;
  /** The one valid due time per key; heap entries that disagree are stale and skipped. */
  readonly #due = new Map<string, number>();
  readonly #heap: HeapEntry[] = [];
  /** Keys due now, waiting for a free worker, taken fairly by namespace and host (ready-queue.ts). */
  readonly #ready = new ReadyQueue();
  readonly #running = new Map<string, Promise<void>>();
  /** Checks running per registry host. */
  readonly #runningPerHost = new Map<string, number>();
  readonly #perHost: number;
  /** Keys that fell due while running (with when): they go back to `#ready` when their run ends. */
  readonly #again = new Map<string, number>();
  #seq = 0;
  #cancelTimer?: () => void;
  #timerDue = Infinity;
  #paused = false;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#perHost = options.perHostConcurrency ?? (options.hostOf ? Math.max(1, Math.floor(options.concurrency / 2)) : options.concurrency);
  }

  /** Checks `key` after `delayMs`, replacing any earlier plan for it. */
  schedule(key: string, delayMs: number): void {
    if (this.#stopped) return;
    const due = this.#options.clock.now() + Math.max(0, delayMs);
    this.#due.set(key, due);
    this.#ready.delete(key);
    push(this.#heap, { due, seq: this.#seq++, key });
    if (this.#heap.length > COMPACT_ABOVE && this.#heap.length > 2 * this.#due.size) this.#compact();
    this.#arm();
  }

  /** Forgets `key` (its Image was deleted); a run in progress finishes but is not repeated. */
  cancel(key: string): void {
    this.#due.delete(key);
    this.#ready.delete(key);
    this.#again.delete(key);
  }

  /** Holds due checks (this replica is not the leader); they run on `resume`. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Heap entries, live and stale: at most twice the keys with a due time (or COMPACT_ABOVE). */
  get heapSize(): number {
    return this.#heap.length;
  }

  /** Checks due now and waiting for a worker. */
  get waiting(): number {
    return this.#ready.size + this.#again.size;
  }

  /** Takes no more work and resolves when the checks in progress have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#ready.clear();
    this.#again.clear();
    await Promise.all(this.#running.values());
  }

  #arm(): void {
    this.#dropStale();
    const next = this.#heap[0];
    if (!next || next.due >= this.#timerDue) return;
    this.#cancelTimer?.();
    this.#timerDue = next.due;
    this.#cancelTimer = this.#options.clock.setTimer(() => {
      this.#cancelTimer = undefined;
      this.#timerDue = Infinity;
      this.#collectDue();
      this.#arm();
    }, next.due - this.#options.clock.now());
  }

  /**
   * Rebuilds the heap from the live due times. Each reschedule leaves its old entry behind until it
   * reaches the top; without this, 500k reschedules of a few Images would hold ~1M entries (+56 MiB).
   * Run when stale entries outnumber live ones, so its O(n) cost is paid once per n reschedules.
   */
  #compact(): void {
    const live = this.#heap.filter((entry) => this.#due.get(entry.key) === entry.due);
    // Several entries of one key may share a due time; keep the newest.
    const newest = new Map<string, HeapEntry>();
    for (const entry of live) if ((newest.get(entry.key)?.seq ?? -1) < entry.seq) newest.set(entry.key, entry);
    this.#heap.length = 0;
    for (const entry of [...newest.values()].sort((a, b) => (before(a, b) ? -1 : 1))) this.#heap.push(entry); // a sorted array is a heap
  }

  #dropStale(): void {
    while (this.#heap[0] && this.#due.get(this.#heap[0].key) !== this.#heap[0].due) pop(this.#heap);
  }

  #collectDue(): void {
    const now = this.#options.clock.now();
    for (this.#dropStale(); this.#heap[0] && this.#heap[0].due <= now; this.#dropStale()) {
      const { key, due } = pop(this.#heap)!;
      this.#due.delete(key);
      if (this.#running.has(key)) this.#again.set(key, due);
      else this.#makeReady(key, due);
    }
    this.#pump();
  }

  #makeReady(key: string, due: number): void {
    // Keys are namespace/name (image-record.ts's imageKey).
    const slash = key.indexOf('/');
    this.#ready.add(key, due, { namespace: slash < 0 ? '' : key.slice(0, slash), host: this.#options.hostOf?.(key) ?? '' });
  }

  #pump(): void {
    const { metrics, clock, concurrency } = this.#options;
    while (!this.#paused && !this.#stopped && this.#running.size < concurrency) {
      const next = this.#ready.take((host) => (this.#runningPerHost.get(host) ?? 0) < this.#perHost);
      if (!next) break;
      metrics.checkStarted(clock.now() - next.due);
      this.#start(next.key, next.host);
    }
    metrics.queueDepth(this.waiting);
  }

  #start(key: string, host: string): void {
    this.#runningPerHost.set(host, (this.#runningPerHost.get(host) ?? 0) + 1);
    const run = (async () => {
      try {
        await this.#options.run(key);
      } catch (error) {
        this.#options.log.error('check failed unexpectedly', { key, error: String(error) });
      }
    })().finally(() => {
      this.#running.delete(key);
      const left = this.#runningPerHost.get(host)! - 1;
      if (left === 0) this.#runningPerHost.delete(host);
      else this.#runningPerHost.set(host, left);
      const dueAgain = this.#again.get(key);
      this.#again.delete(key);
      if (dueAgain !== undefined && !this.#stopped) this.#makeReady(key, dueAgain);
      this.#pump();
    });
    this.#running.set(key, run);
  }
}

function push(heap: HeapEntry[], entry: HeapEntry): void {
  heap.push(entry);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
    i = parent;
  }
}

function pop(heap: HeapEntry[]): HeapEntry | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || !last) return top;
  heap[0] = last;
  for (let i = 0; ; ) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === i) break;
    [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
    i = smallest;
  }
  return top;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
