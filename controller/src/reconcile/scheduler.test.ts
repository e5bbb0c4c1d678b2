import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, systemClock } from '../clock.js';
import { createLogger } from '../log.js';
import { ManualClock } from '../testing/manual-clock.js';
import { RecordingMetrics } from '../testing/metrics.js';
import { CheckScheduler } from './scheduler.js';

const log = createLogger({ write: () => undefined });

function setup(concurrency = 16, runImpl?: (key: string) => Promise<void>) {
  const clock = new ManualClock();
  const runs: { key: string; at: number }[] = [];
  let running = 0;
  let maxRunning = 0;
  const scheduler = new CheckScheduler({
    clock,
    concurrency,
    log,
    metrics: new RecordingMetrics(),
    run: async (key) => {
      runs.push({ key, at: clock.now() - start });
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        await runImpl?.(key);
      } finally {
        running--;
      }
    },
  });
  const start = clock.now();
  return { clock, scheduler, runs, maxRunning: () => maxRunning };
}

/** A promise the test settles by hand. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('CheckScheduler', () => {
  afterEach(() => vi.useRealTimers());

  it('runs each key when it falls due, in due order', async () => {
    const { clock, scheduler, runs } = setup();
    scheduler.schedule('b', 2_000);
    scheduler.schedule('a', 1_000);
    await clock.advance(999);
    expect(runs).toEqual([]);
    await clock.advance(1_001);
    expect(runs).toEqual([
      { key: 'a', at: 1_000 },
      { key: 'b', at: 2_000 },
    ]);
  });

  it('keeps one timer for 10,000 keys', async () => {
    const { clock, scheduler, runs } = setup();
    for (let i = 0; i < 10_000; i++) scheduler.schedule(`ns/image-${i}`, 1_000 + i);
    expect(clock.pendingDelays()).toHaveLength(1);
    await clock.advance(20_000);
    expect(runs).toHaveLength(10_000);
  });

  it('rescheduling replaces the earlier plan', async () => {
    const { clock, scheduler, runs } = setup();
    scheduler.schedule('a', 1_000);
    scheduler.schedule('a', 5_000);
    await clock.advance(10_000);
    expect(runs).toEqual([{ key: 'a', at: 5_000 }]);
  });

  it('bounds concurrency', async () => {
    const hold = gate();
    const { clock, scheduler, runs, maxRunning } = setup(2, () => hold.promise);
    for (const key of ['a', 'b', 'c', 'd', 'e']) scheduler.schedule(key, 0);
    await clock.advance(0);
    expect(runs.map((r) => r.key)).toEqual(['a', 'b']);
    expect(scheduler.waiting).toBe(3);
    hold.open();
    await clock.advance(0);
    expect(runs).toHaveLength(5);
    expect(maxRunning()).toBe(2);
  });

  it('reports how late each check starts: a check waiting for a worker is late by the wait', async () => {
    const metrics = new RecordingMetrics();
    const clock = new ManualClock();
    const scheduler = new CheckScheduler({
      clock,
      concurrency: 1,
      log,
      run: () => new Promise<void>((resolve) => clock.setTimer(resolve, 300)),
      metrics,
    });
    scheduler.schedule('a', 1_000);
    scheduler.schedule('b', 1_000);
    await clock.advance(1_000);
    expect(metrics.depth).toBe(1); // b waits for a's worker
    await clock.advance(1_000);
    expect(metrics.lateness).toEqual([0, 300]);
    expect(metrics.depth).toBe(0);
  });

  it('never runs a key twice at once: falling due while running runs it again afterwards', async () => {
    const hold = gate();
    let calls = 0;
    const { clock, scheduler, runs, maxRunning } = setup(4, async () => {
      if (++calls === 1) await hold.promise;
    });
    scheduler.schedule('a', 0);
    await clock.advance(0);
    scheduler.schedule('a', 0);
    await clock.advance(1_000);
    expect(runs).toHaveLength(1);
    hold.open();
    await clock.advance(0);
    expect(runs).toHaveLength(2);
    expect(maxRunning()).toBe(1);
  });

  it('cancel forgets a key', async () => {
    const { clock, scheduler, runs } = setup();
    scheduler.schedule('a', 1_000);
    scheduler.cancel('a');
    await clock.advance(5_000);
    expect(runs).toEqual([]);
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('holds due checks while paused', async () => {
    const { clock, scheduler, runs } = setup();
    scheduler.pause();
    scheduler.schedule('a', 1_000);
    await clock.advance(5_000);
    expect(runs).toEqual([]);
    scheduler.resume();
    await clock.advance(0);
    expect(runs).toEqual([{ key: 'a', at: 5_000 }]);
  });

  it('compacts stale heap entries: 500k reschedules of 100 keys keep the heap near the live keys', async () => {
    const { clock, scheduler, runs } = setup();
    for (let i = 0; i < 500_000; i++) scheduler.schedule(`key-${i % 100}`, 1_000 + (i % 997));
    expect(scheduler.heapSize).toBeLessThanOrEqual(2_048);
    await clock.advance(10_000);
    // Each key runs once, at its last plan.
    expect(runs).toHaveLength(100);
    expect(new Set(runs.map((r) => r.key)).size).toBe(100);
    expect(runs.find((r) => r.key === 'key-99')?.at).toBe(1_000 + (499_999 % 997));
  }, 60_000);

  it('takes namespaces in turn: a tenant with many due checks does not make another tenant wait behind them all', async () => {
    const { clock, scheduler, runs } = setup(1, () => new Promise<void>((resolve) => clock.setTimer(resolve, 100)));
    for (let i = 0; i < 50; i++) scheduler.schedule(`noisy/image-${i}`, 0);
    scheduler.schedule('quiet/image', 1);
    await clock.advance(1_000);
    // One worker: noisy's first check was running; the quiet tenant's goes next, not 50th.
    expect(runs.slice(0, 3).map((r) => r.key), JSON.stringify(runs.slice(0, 3))).toEqual(['noisy/image-0', 'quiet/image', 'noisy/image-1']);
  });

  it('runs at most perHostConcurrency checks against one registry host, leaving the other workers to other hosts', async () => {
    const clock = new ManualClock();
    const running = new Map<string, number>();
    let most = 0;
    const release: (() => void)[] = [];
    const scheduler = new CheckScheduler({
      clock,
      concurrency: 4,
      perHostConcurrency: 2,
      log,
      metrics: new RecordingMetrics(),
      hostOf: (key) => (key.includes('slow') ? 'slow.example' : 'fast.example'),
      run: async (key) => {
        const host = key.includes('slow') ? 'slow' : 'fast';
        running.set(host, (running.get(host) ?? 0) + 1);
        if (host === 'slow') most = Math.max(most, running.get('slow')!);
        await new Promise<void>((resolve) => (host === 'slow' ? release.push(resolve) : clock.setTimer(resolve, 10)));
        running.set(host, running.get(host)! - 1);
      },
    });
    for (let i = 0; i < 20; i++) scheduler.schedule(`tenant/slow-${i}`, 0);
    for (let i = 0; i < 20; i++) scheduler.schedule(`other/fast-${i}`, 0);
    await clock.advance(1_000);
    expect(most).toBe(2);
    expect(running.get('slow')).toBe(2); // the slow registry never answers: two workers stay with it
    expect(scheduler.waiting).toBe(18); // every fast check ran on the other two
    release.forEach((open) => open());
  });

  it('a failing check is logged and does not stop the others', async () => {
    const { clock, scheduler, runs } = setup(1, async (key) => {
      if (key === 'a') throw new Error('boom');
    });
    scheduler.schedule('a', 0);
    scheduler.schedule('b', 0);
    await clock.advance(0);
    expect(runs.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('stop waits for checks in progress and takes no more', async () => {
    const hold = gate();
    const { clock, scheduler, runs } = setup(1, () => hold.promise);
    scheduler.schedule('a', 0);
    scheduler.schedule('b', 0);
    await clock.advance(0);
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await clock.advance(0);
    expect(stopped).toBe(false);
    hold.open();
    await stopping;
    expect(runs.map((r) => r.key)).toEqual(['a']);
  });
});

describe('systemClock', () => {
  it('waits out delays longer than setTimeout can express', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    systemClock.setTimer(fired, MAX_TIMER_DELAY_MS + 60_000);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    expect(fired).toHaveBeenCalledOnce();
  });
});
