import { describe, expect, it } from 'vitest';
import { ManualClock } from './testing/manual-clock.js';
import { SharedRequests } from './shared-requests.js';

describe('SharedRequests', () => {
  it('shares an answer started after notBefore, and asks again for a fresher one', async () => {
    const clock = new ManualClock();
    const shared = new SharedRequests<number>(clock);
    let calls = 0;
    const ask = () => shared.run('k', clock.now() - 1_000, async () => ++calls);
    expect(await Promise.all([ask(), ask()])).toEqual([1, 1]);
    await clock.advance(2_000);
    expect(await ask()).toBe(2);
  });

  it('keeps at most maxEntries answers, forgetting the oldest first', async () => {
    const clock = new ManualClock();
    const shared = new SharedRequests<string>(clock, { maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) await shared.run(`tenant-key-${i}`, 0, async () => `answer-${i}`);
    expect(shared.size).toBe(100);
    let asked = false;
    expect(await shared.run('tenant-key-9999', 0, async () => ((asked = true), 'again'))).toBe('answer-9999');
    expect(asked).toBe(false);
    expect(await shared.run('tenant-key-0', 0, async () => 'asked again')).toBe('asked again');
  });

  it('forgets answers older than maxAgeMs', async () => {
    const clock = new ManualClock();
    const shared = new SharedRequests<string>(clock, { maxAgeMs: 60_000 });
    for (let i = 0; i < 50; i++) await shared.run(`old-${i}`, 0, async () => 'old');
    await clock.advance(61_000);
    await shared.run('new', 0, async () => 'new');
    expect(shared.size).toBe(1);
  });
});
