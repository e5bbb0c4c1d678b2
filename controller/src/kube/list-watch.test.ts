import { describe, expect, it } from 'vitest';
import type { Image } from '../api/image.js';
import { makeImage } from '../testing/images.js';
import { ListWatch, type ImageList, type WatchSource } from './list-watch.js';

const at = (image: Image, resourceVersion: string): Image => ({ ...image, metadata: { ...image.metadata, resourceVersion } });

/** Watches opened so far, each with its query and the callbacks to drive it. */
class FakeWatches implements WatchSource {
  readonly opened: { query: Record<string, unknown>; send: (phase: string, object: unknown) => void; end: (error: unknown) => void; aborted: boolean }[] = [];
  async watch(_path: string, query: Record<string, unknown>, callback: (phase: string, object: unknown) => void, done: (error: unknown) => void) {
    const entry = { query, send: callback, end: done, aborted: false };
    this.opened.push(entry);
    return { abort: () => void (entry.aborted = true) };
  }
  get last() {
    return this.opened[this.opened.length - 1]!;
  }
}

function setup(lists: (ImageList | Error)[]) {
  const watches = new FakeWatches();
  const events: string[] = [];
  const errors: unknown[] = [];
  let listed = 0;
  const listWatch = new ListWatch('/apis/example.com/v1/images', watches, async () => {
    const next = lists[Math.min(listed++, lists.length - 1)]!;
    if (next instanceof Error) throw next;
    return next;
  });
  listWatch.on('add', (image) => events.push(`add ${image.metadata.name}@${image.metadata.resourceVersion}`));
  listWatch.on('update', (image) => events.push(`update ${image.metadata.name}@${image.metadata.resourceVersion}`));
  listWatch.on('delete', (image) => events.push(`delete ${image.metadata.name}`));
  listWatch.on('error', (error) => errors.push(error));
  return { listWatch, watches, events, errors, lists: () => listed };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ListWatch', () => {
  it('lists, then watches from the list’s resourceVersion with bookmarks, following adds, updates and deletes', async () => {
    const a = makeImage('a');
    const { listWatch, watches, events } = setup([{ items: [at(a, '5')], metadata: { resourceVersion: '7' } }]);
    await listWatch.start();
    expect(events).toEqual(['add a@5']);
    expect(watches.last.query).toEqual({ resourceVersion: '7', allowWatchBookmarks: true });

    watches.last.send('ADDED', at(makeImage('b'), '8'));
    watches.last.send('MODIFIED', at(a, '9'));
    watches.last.send('MODIFIED', at(a, '9')); // the same version again: no update
    watches.last.send('DELETED', at(makeImage('b'), '10'));
    watches.last.send('BOOKMARK', { metadata: { resourceVersion: '11' } });
    expect(events).toEqual(['add a@5', 'add b@8', 'update a@9', 'delete b']);
    expect(listWatch.list().map((image) => image.metadata.name)).toEqual(['a']);

    // The server ends the watch (its timeout): resumed from the bookmark's version, without a list.
    watches.last.end(null);
    await settle();
    expect(watches.opened).toHaveLength(2);
    expect(watches.last.query.resourceVersion).toBe('11');
  });

  it('lists again after 410 Gone, deleting what the new list lacks', async () => {
    const { listWatch, watches, events, lists } = setup([
      { items: [at(makeImage('a'), '1'), at(makeImage('b'), '1')], metadata: { resourceVersion: '2' } },
      { items: [at(makeImage('a'), '4')], metadata: { resourceVersion: '5' } },
    ]);
    await listWatch.start();
    watches.last.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
    watches.last.end(null);
    await settle();
    expect(lists()).toBe(2);
    expect(events).toEqual(['add a@1', 'add b@1', 'delete b', 'update a@4']);
    expect(watches.last.query.resourceVersion).toBe('5');
  });

  it('resumes at once after a client-side timeout, even on a quiet watch', async () => {
    const { listWatch, watches, errors } = setup([{ items: [], metadata: { resourceVersion: '3' } }]);
    await listWatch.start();
    watches.last.end(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await settle();
    expect(errors).toEqual([]);
    expect(watches.opened).toHaveLength(2);
    expect(watches.last.query.resourceVersion).toBe('3');
  });

  it('waits before reopening a watch that ended having delivered nothing', async () => {
    const { listWatch, watches } = setup([{ items: [], metadata: { resourceVersion: '3' } }]);
    await listWatch.start();
    watches.last.end(null);
    await settle();
    expect(watches.opened).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(watches.opened).toHaveLength(2);
    await listWatch.stop();
  });

  it('reports any other failure of the watch or the list to `error`, and stops', async () => {
    const forbidden = Object.assign(new Error('forbidden'), { statusCode: 403 });
    const { listWatch, watches, errors } = setup([{ items: [], metadata: { resourceVersion: '3' } }]);
    await listWatch.start();
    watches.last.end(forbidden);
    await settle();
    expect(errors).toEqual([forbidden]);
    expect(watches.opened).toHaveLength(1);

    const failing = setup([new Error('connection refused')]);
    await failing.listWatch.start();
    expect(failing.errors.map(String)).toEqual(['Error: connection refused']);
    expect(failing.watches.opened).toHaveLength(0);
  });

  it('stop() aborts the watch and stays quiet about the abort', async () => {
    const { listWatch, watches, errors } = setup([{ items: [], metadata: { resourceVersion: '3' } }]);
    await listWatch.start();
    await listWatch.stop();
    expect(watches.last.aborted).toBe(true);
    watches.last.end(new DOMException('aborted', 'AbortError'));
    await settle();
    expect(errors).toEqual([]);
    expect(watches.opened).toHaveLength(1);
  });
});
