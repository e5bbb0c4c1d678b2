// reconcile/: deciding what an Image's status should be and when to check it again: the per-Image record, reconcile, the next-check decision, the scheduler, the controller loop and how a tag is resolved.
export { ImageController, type ImageControllerOptions } from './controller.js';
export { formatDuration, parseDuration } from './duration.js';
export { imageKey, type ImageRecord, type ParsedSpec } from './image-record.js';
export { NO_METRICS, type ControllerMetrics } from './metrics.js';
export { backoffDelay, nextCheck, type CheckEnd } from './next-check.js';
export { reconcile, type ReconcileDeps, type ReconcileResult, type Resolution } from './reconcile.js';
export { RegistryPolicy } from './registry-policy.js';
export { createImageResolver, type ImageResolver } from './resolver.js';
export { CheckScheduler } from './scheduler.js';
export { desiredStatus, statusPatch, type CheckOutcome, type ImageStatusPatch } from './status.js';
