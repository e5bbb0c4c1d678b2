import { describe, expect, it } from 'vitest';
import type { Image } from '../api/image.js';
import { createLogger } from '../log.js';
import { makeImage } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { ImageList, ImageWatchCalls, WatchEnd } from './api.js';
import { ImageWatch } from './image-watch.js';

const log = createLogger({ write: () => undefined });
const at = (image: Image, resourceVersion: string): Image => ({ ...image, metadata: { ...image.metadata, resourceVersion } });
const list = (resourceVersion: string, ...items: Image[]): ImageList => ({ items, metadata: { resourceVersion } });

/** The API server's two calls: lists answered in order (the last repeats), watches the test drives. */
class FakeApi implements ImageWatchCalls {
  readonly watches: { resourceVersion: string; send: (type: string, object: unknown) => void; end: WatchEnd; aborted: boolean }[] = [];
  lists = 0;
  constructor(private readonly answers: (ImageList | Error)[]) {}
  async listImages(): Promise<ImageList> {
    const answer = this.answers[Math.min(this.lists++, this.answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  }
  async watchImages(_namespace: string | undefined, resourceVersion: string, send: (type: string, object: unknown) => void, end: WatchEnd) {
    const watch = { resourceVersion, send, end, aborted: false };
    this.watches.push(watch);
    return { abort: () => void (watch.aborted = true) };
  }
  get last() {
    return this.watches[this.watches.length - 1]!;
  }
}

function setup(answers: (ImageList | Error)[]) {
  const clock = new ManualClock();
  const api = new FakeApi(answers);
  const cache: string[] = [];
  const watch = new ImageWatch({
    calls: api,
    handlers: {
      upsert: (image) => cache.push(`upsert ${image.metadata.name}@${image.metadata.resourceVersion}`),
      remove: (image) => cache.push(`remove ${image.metadata.name}`),
      replaceAll: (images) => cache.push(`replace ${images.map((i) => i.metadata.name).join(',')}`),
    },
    clock,
    log,
    relistIntervalMs: 600_000,
  });
  return { clock, api, cache, watch };
}

const forbidden = Object.assign(new Error('forbidden'), { statusCode: 403 });

describe('ImageWatch', () => {
  it('lists and hands the list over whole, then watches from its resourceVersion: adds and changes upsert, deletes remove', async () => {
    const { clock, api, cache, watch } = setup([list('7', at(makeImage('a'), '5'))]);
    watch.start();
    await clock.advance(0);
    expect(watch.synced).toBe(true);
    expect(cache).toEqual(['replace a']);
    expect(api.last.resourceVersion).toBe('7');

    api.last.send('ADDED', at(makeImage('b'), '8'));
    api.last.send('MODIFIED', at(makeImage('a'), '9'));
    api.last.send('DELETED', at(makeImage('b'), '10'));
    api.last.send('BOOKMARK', { metadata: { resourceVersion: '11' } });
    expect(cache).toEqual(['replace a', 'upsert b@8', 'upsert a@9', 'remove b']);

    // The server ends the watch (its timeout): resumed at once from the bookmark's version, without a list.
    api.last.end(null);
    await clock.advance(0);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(['7', '11']);
    expect(api.lists).toBe(1);
    await watch.stop();
    expect(api.last.aborted).toBe(true);
  });

  it.each([
    ['an ERROR event with a 410 Status', (end: WatchEnd, send: (type: string, object: unknown) => void) => (send('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }), end(null))],
    ['a watch that fails with 410', (end: WatchEnd) => end(Object.assign(new Error('Gone'), { statusCode: 410 }))],
  ])('lists again at once after %s, and hands the new list over whole', async (_, gone) => {
    const { clock, api, cache, watch } = setup([list('2', makeImage('a'), makeImage('b')), list('5', at(makeImage('a'), '4'))]);
    watch.start();
    await clock.advance(0);
    gone(api.last.end, api.last.send);
    await clock.advance(0);
    expect(api.lists).toBe(2);
    expect(cache).toEqual(['replace a,b', 'replace a']);
    expect(api.last.resourceVersion).toBe('5');
    await watch.stop();
  });

  it('resumes at once after the client-side inactivity timeout, even on a quiet watch', async () => {
    const { clock, api, watch } = setup([list('3')]);
    watch.start();
    await clock.advance(0);
    api.last.end(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await clock.advance(0);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(['3', '3']);
    await watch.stop();
  });

  it('backs off on the clock before reopening watches that end having delivered nothing: 1 s, 2 s, then at once after one delivers', async () => {
    const { clock, api, watch } = setup([list('3')]);
    watch.start();
    await clock.advance(0);
    api.last.end(null);
    await clock.advance(999);
    expect(api.watches).toHaveLength(1);
    await clock.advance(1);
    expect(api.watches).toHaveLength(2);
    api.last.end(null);
    await clock.advance(1_999);
    expect(api.watches).toHaveLength(2);
    await clock.advance(1);
    expect(api.watches).toHaveLength(3);
    api.last.send('BOOKMARK', { metadata: { resourceVersion: '4' } });
    api.last.end(null);
    await clock.advance(0);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(['3', '3', '3', '4']);
    expect(api.lists).toBe(1);
    await watch.stop();
  });

  it('after any other failure backs off 1 s, 2 s, 4 s … and lists again; a failed list never empties the cache', async () => {
    const refused = Object.assign(new Error('connection refused'), { code: 503 });
    const { clock, api, cache, watch } = setup([list('1', makeImage('a')), refused, refused, list('2', makeImage('a'), makeImage('c'))]);
    watch.start();
    await clock.advance(0);
    api.last.end(forbidden);
    await clock.advance(999);
    expect(api.lists).toBe(1);
    await clock.advance(1);
    expect(api.lists).toBe(2); // 1 s later; the list fails
    await clock.advance(1_999);
    expect(api.lists).toBe(2);
    await clock.advance(1);
    expect(api.lists).toBe(3); // 2 s later; it fails again
    await clock.advance(3_999);
    expect(api.lists).toBe(3);
    await clock.advance(1);
    expect(api.lists).toBe(4); // 4 s later; it lists
    expect(cache).toEqual(['replace a', 'replace a,c']);
    expect(watch.synced).toBe(true);
    await watch.stop();
  });

  it('takes an ERROR Status other than 410 as a failure, not as a watch that delivered', async () => {
    const { clock, api, watch } = setup([list('1')]);
    watch.start();
    await clock.advance(0);
    api.last.send('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd is unhappy' });
    api.last.end(null);
    await clock.advance(999);
    expect(api.lists).toBe(1);
    await clock.advance(1);
    expect(api.lists).toBe(2);
    await watch.stop();
  });

  it('starts the backoff over after a good list: a later outage is retried after 1 s again', async () => {
    const refused = Object.assign(new Error('connection refused'), { code: 503 });
    const { clock, api, watch } = setup([list('1'), refused, list('2'), list('3')]);
    watch.start();
    await clock.advance(0);
    api.last.end(forbidden);
    await clock.advance(1_000 + 2_000);
    expect(api.lists).toBe(3); // a failed list, then a good one
    api.last.end(forbidden); // a new outage
    await clock.advance(999);
    expect(api.lists).toBe(3);
    await clock.advance(1);
    expect(api.lists).toBe(4);
    await watch.stop();
  });

  it('a watch that cannot be opened is a failure too', async () => {
    const { clock, api, watch } = setup([list('1')]);
    api.watchImages = async () => {
      throw forbidden;
    };
    watch.start();
    await clock.advance(1_000);
    expect(api.lists).toBe(2);
    await watch.stop();
  });

  it('lists again on a period even when the watch looks healthy (a stalled watch says nothing)', async () => {
    const { clock, api, cache, watch } = setup([list('1', makeImage('a')), list('2', makeImage('a'), makeImage('b'))]);
    watch.start();
    await clock.advance(599_999);
    expect(api.lists).toBe(1);
    await clock.advance(1);
    expect(api.lists).toBe(2);
    expect(api.watches[0]!.aborted).toBe(true);
    expect(cache).toEqual(['replace a', 'replace a,b']);
    await watch.stop();
  });

  it('stop() aborts the watch, ends the loop and ignores what the aborted watch says after', async () => {
    const { clock, api, cache, watch } = setup([list('1')]);
    watch.start();
    await clock.advance(0);
    const stopped = watch.stop();
    await stopped;
    expect(api.last.aborted).toBe(true);
    api.last.send('ADDED', makeImage('late'));
    api.last.end(new DOMException('aborted', 'AbortError'));
    await clock.advance(60_000);
    expect(cache).toEqual(['replace ']);
    expect(api.watches).toHaveLength(1);
    expect(clock.pendingDelays()).toEqual([]);
  });
});
