// server/: the controller's HTTP surface: health and readiness, Prometheus metrics, and registry push notifications.
//   http.ts              the one HTTP server: /healthz, /readyz, /metrics, /notifications
//   metrics.ts           the Prometheus metrics (prom-client)
//   notifications.ts     the registry's notification envelope, parsed into pushed tags
export { ControllerServer, NOTIFICATIONS_PATH, parseListenAddress, type ControllerServerOptions } from './http.js';
export { MAX_REGISTRY_LABELS, PrometheusMetrics, type NotificationResult } from './metrics.js';
export { bearerTokenMatches, NOTIFICATION_MEDIA_TYPE, parsePushedTags, type PushedTag } from './notifications.js';
