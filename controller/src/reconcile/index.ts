// reconcile/: deciding what an Image's status should be and when to check it again: reconcile, the scheduler, the controller loop and how a tag is resolved.
export { ImageController, imageKey, type ImageControllerOptions } from './controller.js';
export { formatDuration, parseDuration } from './duration.js';
export { backoffDelay, reconcile, type ImageEvent, type ReconcileDeps, type ReconcileResult, type Resolution } from './reconcile.js';
export { RegistryPolicy } from './registry-policy.js';
export { createImageResolver, type ImageResolver } from './resolver.js';
export { CheckScheduler } from './scheduler.js';
export { desiredStatus, statusPatch, type CheckOutcome, type ImageStatusPatch } from './status.js';
