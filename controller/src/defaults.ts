/**
 * What the controller does unless told otherwise that the charts deploying it must match: they are
 * imported from here by charts/image-controller.ts, so the Deployment, Service and RBAC cannot drift.
 */

/** The port of `--http-address`'s default: /healthz, /readyz, /metrics and /notifications. */
export const DEFAULT_HTTP_PORT = 8080;

/** The Lease replicas campaign for with `--leader-elect` (its namespace is `--lease-namespace`). */
export const LEASE_NAME = 'image-controller';
