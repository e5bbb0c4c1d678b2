import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { LeaseStore } from './api.js';
import { LeaderElector } from './leader.js';

const log = createLogger({ write: () => undefined });

/** One Lease with optimistic concurrency, as the API server keeps it. */
class FakeLeaseStore implements LeaseStore {
  lease?: V1Lease;
  failing = false;
  writes = 0;
  #version = 0;

  async read(): Promise<V1Lease | undefined> {
    this.#check();
    return this.lease && structuredClone(this.lease);
  }
  async create(lease: V1Lease): Promise<V1Lease> {
    this.#check();
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    return this.#store(lease);
  }
  async replace(lease: V1Lease): Promise<V1Lease> {
    this.#check();
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    return this.#store(lease);
  }
  #store(lease: V1Lease): V1Lease {
    this.writes++;
    this.lease = JSON.parse(JSON.stringify({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.#version) } }));
    return structuredClone(this.lease!);
  }
  #check(): void {
    if (this.failing) throw Object.assign(new Error('unavailable'), { code: 503 });
  }
}

function elector(store: LeaseStore, clock: ManualClock, identity: string, transitions: string[] = []) {
  const leader = new LeaderElector({ store, identity, clock, log });
  leader.onChange((leading) => transitions.push(`${identity} ${leading ? 'started' : 'stopped'}`));
  return leader;
}

describe('LeaderElector', () => {
  it('creates the Lease when there is none and holds it with the documented timings', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(store.lease?.metadata?.name).toBe('image-controller');
  });

  it('does not take a Lease another replica renews, and takes it 15 s after the renewals stop', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await clock.advance(10_000);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false); // b sees the renewal now: its own clock measures from here
    await clock.advance(14_000);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await clock.advance(1_000);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a standby running its loop takes over exactly when the claim it last saw renewed runs out', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    const transitions: string[] = [];
    const b = elector(store, clock, 'b', transitions);
    b.start(); // b sees a's claim at t=0; a never renews again (killed)

    await clock.advance(14_999);
    expect(transitions).toEqual([]);
    await clock.advance(1);
    expect(transitions).toEqual(['b started']);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
    await b.stop();
  });

  it('loses a race for the Lease without error (409)', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    await a.tryAcquireOrRenew();
    const stale = store.lease!;
    await a.tryAcquireOrRenew();
    const b = elector({ ...store, read: async () => ({ ...stale, spec: { ...stale.spec, holderIdentity: '' } }), replace: (l) => store.replace(l), create: (l) => store.create(l) }, clock, 'b');
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(store.lease?.spec?.holderIdentity).toBe('a');
  });

  it('leads while renewing every 2 s, stops leading 10 s after renewals start failing', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const transitions: string[] = [];
    const a = elector(store, clock, 'a', transitions);
    a.start();
    await clock.advance(0);
    expect(a.isLeader).toBe(true);
    const writes = store.writes;
    await clock.advance(10_000);
    expect(store.writes - writes).toBe(5);
    store.failing = true;
    await clock.advance(9_000);
    expect(a.isLeader).toBe(true);
    await clock.advance(1_000);
    expect(a.isLeader).toBe(false);
    expect(transitions).toEqual(['a started', 'a stopped']);
    store.failing = false;
    await clock.advance(3_000);
    expect(a.isLeader).toBe(true);
    await a.stop();
  });

  it('releases the Lease on stop so a standby takes over at once', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    a.start();
    await clock.advance(0);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.stop();
    expect(a.isLeader).toBe(false);
    expect(store.lease?.spec?.holderIdentity).toBe('');
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('a standby never leads while the holder renews', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    a.start();
    await clock.advance(0);
    b.start();
    for (let i = 0; i < 30; i++) {
      await clock.advance(1_000);
      expect(a.isLeader && b.isLeader).toBe(false);
    }
    expect(b.isLeader).toBe(false);
    await b.stop();
    await a.stop();
  });
});
