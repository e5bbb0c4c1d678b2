/**
 * What the controller reports as it works, as one interface: server/metrics.ts exposes it to Prometheus,
 * tests count it, and the controller never knows which.
 */
import type { ImageReason } from '../api/image.js';

export interface ControllerMetrics {
  /** A check started `lateMs` after it fell due (timer delay and waiting for a worker). */
  checkStarted(lateMs: number): void;
  /** Checks due and waiting for a worker, each time that changes. */
  queueDepth(depth: number): void;
  /** A check ended and was written. `registry` is the one the Image names ('' when its spec is invalid). */
  checked(check: { registry: string; reason: ImageReason; digestChanged: boolean; durationMs: number }): void;
  /** The API server refused or failed a status patch (its HTTP status, undefined without an answer). */
  statusPatchFailed(code: number | undefined): void;
  /** Images in the cache, each time that changes. */
  imagesWatched(count: number): void;
  /** This replica started or stopped leading. */
  leading(isLeader: boolean): void;
}

/** Reports nothing: for a controller whose metrics nobody reads. */
export const NO_METRICS: ControllerMetrics = {
  checkStarted: () => undefined,
  queueDepth: () => undefined,
  checked: () => undefined,
  statusPatchFailed: () => undefined,
  imagesWatched: () => undefined,
  leading: () => undefined,
};
