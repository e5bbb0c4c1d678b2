import { describe, expect, it, vi } from 'vitest';
import type { TagListing } from '../registry/index.js';
import { ManualClock } from '../testing/manual-clock.js';
import { SharedTagListings } from './tag-listings.js';

const listingOf = (count: number, length = 10): TagListing => ({ tags: Array.from({ length: count }, (_, i) => String(i).padStart(length, '0')), pages: 1, invalid: 0 });

describe('SharedTagListings', () => {
  it('joins a listing in flight and reuses a finished one started at or after notBefore', async () => {
    const clock = new ManualClock();
    const shared = new SharedTagListings(clock);
    const list = vi.fn(async () => listingOf(3));
    const start = clock.now();
    await Promise.all([shared.run('repo', start, list), shared.run('repo', start, list)]);
    await shared.run('repo', start, list);
    expect(list).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    await shared.run('repo', start + 1, list);
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('shares a failure too, so Images on a failing repository do not each list it', async () => {
    const shared = new SharedTagListings(new ManualClock());
    const list = vi.fn(async (): Promise<TagListing> => Promise.reject(new Error('registry down')));
    await expect(shared.run('repo', 0, list)).rejects.toThrow('registry down');
    await expect(shared.run('repo', 0, list)).rejects.toThrow('registry down');
    expect(list).toHaveBeenCalledTimes(1);
  });

  it('keeps finished listings within its byte budget: the oldest go first and are listed again', async () => {
    const shared = new SharedTagListings(new ManualClock(), { maxBytes: 100 * (10 + 32) * 2 });
    const list = vi.fn(async () => listingOf(100));
    for (const repository of ['a', 'b', 'c']) await shared.run(repository, 0, list);
    expect(list).toHaveBeenCalledTimes(3);
    await shared.run('c', 0, list);
    await shared.run('a', 0, list); // pushed out by c
    expect(list).toHaveBeenCalledTimes(4);
  });
});
