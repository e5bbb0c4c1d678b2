/**
 * The flags of `image-controller run`, declared once: the controller parses them (run.ts) and the chart
 * that deploys it renders its typed props into them (charts/image-controller.ts), so a prop and the flag
 * it sets cannot drift apart. Kept free of the controller's runtime modules, so the chart loads only this.
 */
import { DEFAULT_CONCURRENCY, DEFAULT_HTTP_PORT, DEFAULT_INTERVAL_MS, DEFAULT_LOG_LEVEL, DEFAULT_MAX_TAGS_CAP, isLogLevel, LEASE_NAME, REQUEST_TIMEOUT_MS } from '../defaults.js';
import { parseDuration } from '../reconcile/duration.js';
import type { FlagTable, FlagValues } from './flags.js';

const MIN_INTERVAL_MS = parseDuration('1s')!;

export const RUN_FLAGS = {
  kubeconfig: {
    kind: 'string',
    placeholder: '<file>',
    help: 'kubeconfig to use',
    defaultText: 'in-cluster config, else $KUBECONFIG, else ~/.kube/config',
  },
  namespace: { kind: 'string', placeholder: '<name>', help: 'watch Images in this namespace only', defaultText: 'all namespaces' },
  interval: {
    kind: 'duration',
    placeholder: '<duration>',
    help: 'how often an Image without spec.interval is checked',
    default: DEFAULT_INTERVAL_MS,
    check: (ms) => (ms >= MIN_INTERVAL_MS ? undefined : 'must be at least 1s'),
  },
  concurrency: { kind: 'count', placeholder: '<n>', help: 'most registry checks running at once', default: DEFAULT_CONCURRENCY },
  requestTimeout: { kind: 'duration', placeholder: '<duration>', help: 'deadline of each registry request', default: REQUEST_TIMEOUT_MS },
  httpAddress: { kind: 'string', placeholder: '<[host]:port>', help: 'address of /healthz, /readyz, /metrics and /notifications', default: `:${DEFAULT_HTTP_PORT}` },
  leaderElect: { kind: 'boolean', help: `hold the Lease "${LEASE_NAME}" before writing, so several replicas are safe`, default: false },
  leaseNamespace: { kind: 'string', placeholder: '<name>', help: 'namespace of the leader election Lease', fallbackEnv: 'POD_NAMESPACE', defaultText: '$POD_NAMESPACE' },
  registryAlias: {
    kind: 'list',
    placeholder: '<from=to>',
    help: 'contact registry "to" for Images naming "from" (repeatable); status still names "from". Adds to kube-public/local-registry-hosting',
    default: [],
  },
  notificationToken: { kind: 'string', placeholder: '<token>', help: 'bearer token registries must send to /notifications; unset disables the endpoint' },
  logLevel: {
    kind: 'string',
    placeholder: '<level>',
    help: 'debug, info, warn or error; debug shows each "Checking digest for: <url>"',
    default: DEFAULT_LOG_LEVEL,
    check: (v) => (isLogLevel(v) ? undefined : 'must be debug, info, warn or error'),
  },
  maxTags: {
    kind: 'count',
    placeholder: '<n>',
    help: 'most tags listed for an Image with spec.policy, whatever its spec.maxTags (which defaults to 10000)',
    default: DEFAULT_MAX_TAGS_CAP,
  },
  allowedRegistries: {
    kind: 'list',
    placeholder: '<globs>',
    help: 'comma-separated registry host globs the controller may contact, e.g. localhost:5000,*.example.com; link-local and cloud metadata addresses are always refused',
    default: [],
    defaultText: 'all',
  },
} satisfies FlagTable;

export type RunOptions = FlagValues<typeof RUN_FLAGS>;
