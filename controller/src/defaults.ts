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

/** How often an Image without `spec.interval` is checked (`--interval`): the seed's documented 10 s. */
export const DEFAULT_INTERVAL_MS = 10_000;

/** Most registry checks running at once (`--concurrency`). */
export const DEFAULT_CONCURRENCY = 16;

/** The levels `--log-level` accepts, quietest last. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  // A list, not an object's keys: `'toString' in {…}` is true, and pino would refuse such a level at start-up.
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** `--log-level`'s default. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** `--max-tags`: the most tags listed for any Image with a tag policy, whatever its spec.maxTags asks. */
export const DEFAULT_MAX_TAGS_CAP = 100_000;
