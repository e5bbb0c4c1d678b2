/** A ControllerMetrics that keeps what it was told, for tests to read. */
import type { ControllerMetrics } from '../reconcile/metrics.js';

export class RecordingMetrics implements ControllerMetrics {
  readonly lateness: number[] = [];
  readonly checks: Parameters<ControllerMetrics['checked']>[0][] = [];
  readonly patchFailures: (number | undefined)[] = [];
  depth = 0;
  images = 0;
  leader?: boolean;

  checkStarted(lateMs: number): void {
    this.lateness.push(lateMs);
  }
  queueDepth(depth: number): void {
    this.depth = depth;
  }
  checked(check: Parameters<ControllerMetrics['checked']>[0]): void {
    this.checks.push(check);
  }
  statusPatchFailed(code: number | undefined): void {
    this.patchFailures.push(code);
  }
  imagesWatched(count: number): void {
    this.images = count;
  }
  leading(isLeader: boolean): void {
    this.leader = isLeader;
  }
}
