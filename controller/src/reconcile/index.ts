// reconcile/: deciding what an Image's status should be and when to check it again: the per-Image record, reconcile, the next-check decision, the fair scheduler, the check loop, how a tag is resolved and how its digest's signatures are checked.
//   check-loop.ts        the loop: cache → scheduler → reconcile → status patch and Events → next check
//   next-check.ts        when an Image is checked next, the one place that decides it, and which answer a check may use
//   image-record.ts      everything known about one Image, its spec parsed once per generation
//   reconcile.ts         one check of one Image: its status, Events and how it ended
//   status.ts            the desired status and the smallest merge patch
//   scheduler.ts         one timer for every due check, and the bounded, fair work queue
//   ready-queue.ts       due checks taken by namespace and registry host in turn
//   resolver.ts          credentials, endpoint, one shared registry answer per tag and secret, and a tag policy's candidates
//   tag-listings.ts      one tag listing per repository and credentials per interval, byte-bounded
//   signature-check.ts   a digest's signatures checked under the Image's authorities
//   metrics.ts           what the loop reports, as one interface
//   duration.ts          Go-style durations
export { CheckLoop, type CheckLoopOptions, type PushedTag } from './check-loop.js';
export { formatDuration, parseDuration } from './duration.js';
export { imageKey, type ImageRecord } from './image-record.js';
export { NO_METRICS, type ControllerMetrics } from './metrics.js';
export { reconcile, type ReconcileResult, type Resolution } from './reconcile.js';
export { createImageResolver, type ImageResolver } from './resolver.js';
export { createSignatureCheck, type SignatureCheck } from './signature-check.js';
