/**
 * What the controller does unless told otherwise, defined once: the charts deploying it import these
 * (charts/image-controller.ts), so the Deployment, Service and RBAC cannot drift, and the CLI flags too.
 */

/** The port of `--http-address`'s default: /healthz, /readyz, /metrics and /notifications. */
export const DEFAULT_HTTP_PORT = 8080;

/** The Lease replicas campaign for with `--leader-elect` (its namespace is `--lease-namespace`). */
export const LEASE_NAME = 'image-controller';

/** The deadline of each registry request (`--request-timeout`, `resolve --timeout`), from connect to last byte. */
export const REQUEST_TIMEOUT_MS = 10_000;
