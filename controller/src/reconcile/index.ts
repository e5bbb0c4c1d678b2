// reconcile/: deciding what an Image's status should be and when to check it again: the per-Image record, reconcile, the next-check decision, the fair scheduler, the check loop, how a tag is resolved and how its digest's signatures are checked.
export { CheckLoop, type CheckLoopOptions, type PushedTag } from './check-loop.js';
export { formatDuration, parseDuration } from './duration.js';
export { imageKey, type ImageRecord } from './image-record.js';
export { NO_METRICS, type ControllerMetrics } from './metrics.js';
export { reconcile, type ReconcileResult, type Resolution } from './reconcile.js';
export { createImageResolver, type ImageResolver } from './resolver.js';
export { createSignatureCheck, type SignatureCheck } from './signature-check.js';
