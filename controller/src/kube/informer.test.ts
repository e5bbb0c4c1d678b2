import { describe, expect, it } from 'vitest';
import type { Image } from '../api/image.js';
import { createLogger } from '../log.js';
import { makeImage } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { ImageListWatch } from './api.js';
import { ImageInformer } from './informer.js';

const log = createLogger({ write: () => undefined });

/** A list+watch as ListWatch (list-watch.ts) behaves: start() lists (failures go to the error callback), then watches. */
class FakeListWatch implements ImageListWatch {
  readonly callbacks = new Map<string, ((arg: never) => void)[]>();
  stopped = false;
  constructor(
    private readonly items: Image[] | Error,
  ) {}
  on(verb: string, callback: (arg: never) => void): void {
    this.callbacks.set(verb, [...(this.callbacks.get(verb) ?? []), callback]);
  }
  emit(verb: string, arg: unknown): void {
    for (const callback of this.callbacks.get(verb) ?? []) callback(arg as never);
  }
  async start(): Promise<void> {
    if (this.items instanceof Error) this.emit('error', this.items);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  list(): readonly Image[] {
    return this.items instanceof Error ? [] : this.items;
  }
}

function setup(lists: (Image[] | Error)[]) {
  const clock = new ManualClock();
  const made: FakeListWatch[] = [];
  const snapshots: string[][] = [];
  const upserts: string[] = [];
  const informer = new ImageInformer({
    makeInformer: () => {
      const next = new FakeListWatch(lists.shift() ?? []);
      made.push(next);
      return next;
    },
    handlers: {
      upsert: (image) => upserts.push(image.metadata.name),
      remove: () => undefined,
      replaceAll: (images) => snapshots.push(images.map((i) => i.metadata.name)),
    },
    clock,
    log,
    relistIntervalMs: 60_000,
  });
  return { clock, informer, made, snapshots, upserts };
}

describe('ImageInformer', () => {
  it('hands over the first list whole and forwards watch events', async () => {
    const { clock, informer, made, snapshots, upserts } = setup([[makeImage('a'), makeImage('b')]]);
    informer.start();
    await clock.advance(0);
    expect(informer.synced).toBe(true);
    expect(snapshots).toEqual([['a', 'b']]);
    made[0]!.emit('update', makeImage('a'));
    expect(upserts).toEqual(['a']);
    await informer.stop();
    expect(made[0]!.stopped).toBe(true);
  });

  it('restarts after errors with capped backoff, and a failed list never empties the cache', async () => {
    const failure = Object.assign(new Error('connection refused'), { code: 503 });
    const { clock, informer, made, snapshots } = setup([[makeImage('a')], failure, failure, [makeImage('a'), makeImage('c')]]);
    informer.start();
    await clock.advance(0);
    made[0]!.emit('error', failure); // the watch died
    await clock.advance(0);
    expect(made).toHaveLength(1);
    await clock.advance(1_000);
    expect(made).toHaveLength(2); // 1 s later; its list fails
    await clock.advance(1_999);
    expect(made).toHaveLength(2);
    await clock.advance(1);
    expect(made).toHaveLength(3); // 2 s later; its list fails again
    await clock.advance(3_999);
    expect(made).toHaveLength(3);
    await clock.advance(1);
    expect(made).toHaveLength(4); // 4 s later; it lists
    expect(snapshots).toEqual([['a'], ['a', 'c']]);
    await informer.stop();
  });

  it('starts the backoff over after a good list: a later outage is retried after 1 s again', async () => {
    const failure = Object.assign(new Error('connection refused'), { code: 503 });
    const { clock, informer, made } = setup([[makeImage('a')], failure, [makeImage('a')], [makeImage('a')]]);
    informer.start();
    await clock.advance(0);
    made[0]!.emit('error', failure);
    await clock.advance(1_000 + 2_000);
    expect(made).toHaveLength(3); // one failed list, then a good one
    made[2]!.emit('error', failure); // a new outage, an hour later say
    await clock.advance(999);
    expect(made).toHaveLength(3);
    await clock.advance(1);
    expect(made).toHaveLength(4);
    await informer.stop();
  });

  it('relists on a period even when the watch looks healthy (a stalled watch says nothing)', async () => {
    const { clock, informer, made, snapshots } = setup([[makeImage('a')], [makeImage('a'), makeImage('b')]]);
    informer.start();
    await clock.advance(59_999);
    expect(made).toHaveLength(1);
    await clock.advance(1);
    expect(made).toHaveLength(2);
    expect(made[0]!.stopped).toBe(true);
    expect(snapshots).toEqual([['a'], ['a', 'b']]);
    await informer.stop();
  });
});
