/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go does it, because client-node has
 * none: acquire the Lease when it is free or its holder has not renewed for a lease duration (measured on
 * our own clock from when we last saw it change, so clock skew between nodes does not matter), renew
 * every retry period, and give up leading when renewals have failed for the renew deadline — before
 * anyone else may take the Lease. Released on shutdown so a new replica takes over at once.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { V1MicroTime } from '@kubernetes/client-node';
import { sleep, type Clock } from '../clock.js';
import { LEASE_NAME } from '../defaults.js';
import type { Logger } from '../log.js';
import type { LeaseStore } from './api.js';
import { apiStatus } from './client.js';

export interface LeaderElectorOptions {
  store: LeaseStore;
  /** This replica's name in `holderIdentity` (the pod name plus a random suffix). */
  identity: string;
  clock: Clock;
  log: Logger;
  /** How long a holder's claim lasts without renewal. @default 15 s */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long stops leading. Must be below the lease duration. @default 10 s */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. @default 2 s */
  retryPeriodMs?: number;
}

/** Whether this replica may write, and news of when that changes. */
export interface Leadership {
  readonly isLeader: boolean;
  /** Calls `listener` each time this replica starts (true) or stops (false) leading. */
  onChange(listener: (leading: boolean) => void): void;
}

/** Leader election off: this replica always leads. */
export const ALWAYS_LEADER: Leadership = { isLeader: true, onChange: () => undefined };

export class LeaderElector implements Leadership {
  readonly #options: Required<LeaderElectorOptions>;
  readonly #listeners: ((leading: boolean) => void)[] = [];
  readonly #stopping = new AbortController();
  #loop?: Promise<void>;
  #leading = false;
  #lastRenewAt = -Infinity;
  /** The Lease as last read or written, and when (on our clock) its resourceVersion last changed. */
  #observed?: { lease: V1Lease; at: number };
  /** When (on our clock) another holder's claim runs out, as last seen; a standby tries again right then. */
  #othersClaimEndsAt = -Infinity;

  constructor(options: LeaderElectorOptions) {
    this.#options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
    };
  }

  /** True only while the last renewal is younger than the renew deadline, even if the loop is stuck. */
  get isLeader(): boolean {
    return this.#leading && this.#options.clock.now() - this.#lastRenewAt < this.#options.renewDeadlineMs;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.#listeners.push(listener);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops campaigning and, when leading, releases the Lease. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    if (!this.#leading) return;
    this.#setLeading(false);
    await this.#release();
  }

  /** One attempt to take or keep the Lease; true when this replica holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { store, identity, clock, leaseDurationMs, log } = this.#options;
    const now = clock.now();
    try {
      const lease = await store.read();
      if (!lease) {
        this.#remember(await store.create(this.#claim(undefined, now)), now);
        return true;
      }
      if (lease.metadata?.resourceVersion !== this.#observed?.lease.metadata?.resourceVersion) this.#remember(lease, now);
      const holder = lease.spec?.holderIdentity;
      const lastChange = this.#observed!.at;
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
      if (holder && holder !== identity && now < lastChange + duration) {
        this.#othersClaimEndsAt = lastChange + duration;
        return false;
      }
      this.#remember(await store.replace(this.#claim(lease, now)), now);
      return true;
    } catch (error) {
      // 409: someone else wrote the Lease between our read and write; they win this round.
      if (apiStatus(error) !== 409) log.warn('leader election: could not read or write the Lease', { error: String(error) });
      return false;
    }
  }

  async #run(): Promise<void> {
    const { clock, retryPeriodMs, renewDeadlineMs, log, identity } = this.#options;
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      // A hung request must not keep a leader believing it leads past the deadline.
      const attempt = this.tryAcquireOrRenew();
      const held = await Promise.race([attempt, sleep(clock, renewDeadlineMs, stopping).then(() => false)]);
      if (stopping.aborted) break;
      if (held) {
        this.#lastRenewAt = clock.now();
        if (!this.#leading) {
          log.info('became leader', { lease: LEASE_NAME, identity });
          this.#setLeading(true);
        }
      } else if (this.#leading && clock.now() - this.#lastRenewAt >= renewDeadlineMs) {
        log.warn('lost leadership: could not renew the Lease in time', { lease: LEASE_NAME, identity });
        this.#setLeading(false);
      }
      await sleep(clock, this.#leading ? retryPeriodMs : this.#standbyWait(), stopping);
    }
  }

  /** A retry period, or less when the holder's claim runs out sooner, so a dead leader is replaced on time. */
  #standbyWait(): number {
    const untilClaimEnds = this.#othersClaimEndsAt - this.#options.clock.now();
    return untilClaimEnds >= 0 ? Math.min(jitter(this.#options.retryPeriodMs), untilClaimEnds) : jitter(this.#options.retryPeriodMs);
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }

  #remember(lease: V1Lease, at: number): void {
    this.#observed = { lease, at };
  }

  #claim(lease: V1Lease | undefined, now: number): V1Lease {
    const { identity, leaseDurationMs } = this.#options;
    const spec = lease?.spec;
    const renewing = spec?.holderIdentity === identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease?.metadata ?? { name: LEASE_NAME },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.round(leaseDurationMs / 1000),
        acquireTime: renewing && spec?.acquireTime ? spec.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (spec?.leaseTransitions ?? 0) + (renewing || !lease ? 0 : 1),
      },
    };
  }

  /** Empties the holder and shortens the duration, as client-go's ReleaseOnCancel does, so a standby takes over at once. */
  async #release(): Promise<void> {
    const { store, clock, log, identity } = this.#options;
    const lease = this.#observed?.lease;
    if (!lease || lease.spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime(clock.now());
    try {
      await store.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
      log.info('released the Lease', { lease: LEASE_NAME, identity });
    } catch (error) {
      log.warn('could not release the Lease; a standby takes over when it expires', { error: String(error) });
    }
  }
}

/** Candidates retry at slightly different times so two replicas do not collide on every attempt. */
function jitter(ms: number): number {
  return Math.round(ms * (1 + 0.2 * Math.random()));
}
