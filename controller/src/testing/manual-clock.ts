/** A clock that moves only when a test says so; timers fire in due order as it advances. */
import type { Clock } from '../clock.js';

interface Timer {
  due: number;
  seq: number;
  callback: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<Timer>();

  constructor(start = Date.parse('2025-01-01T00:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): () => void {
    const timer = { due: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Delays of the pending timers, soonest first. */
  pendingDelays(): number[] {
    return [...this.#timers].map((t) => t.due - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing each timer that falls due (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flushPromises();
      const next = [...this.#timers].filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers.delete(next);
      this.#now = next.due;
      next.callback();
    }
    this.#now = end;
    await flushPromises();
  }
}

/** Lets every already-settled promise chain run to its next real wait. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
