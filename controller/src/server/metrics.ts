/**
 * The controller's Prometheus metrics, through prom-client (the Node standard, as Pepr uses it), with
 * its default process and Node.js metrics (`nodejs_heap_size_used_bytes`, `process_resident_memory_bytes` …).
 *
 * Label values are bounded: registries are labelled by the host the Image names (never by a host a
 * registry redirects to or names as its token realm), and only the first MAX_REGISTRY_LABELS of those get
 * their own series; Images naming further registries are counted under `registry="other"`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ImageReason } from '../api/image.js';
import type { ControllerMetrics } from '../reconcile/metrics.js';

/** Distinct `registry` label values before the rest are counted as "other". */
export const MAX_REGISTRY_LABELS = 64;
export const OTHER_REGISTRY = 'other';

/** What `/notifications` did with a request. */
export type NotificationResult = 'accepted' | 'unauthorized' | 'too_large' | 'invalid';

export class PrometheusMetrics implements ControllerMetrics {
  readonly registry = new Registry();
  readonly #registries = new Set<string>();
  readonly #checks = new Counter({
    name: 'image_controller_checks_total',
    help: 'Image checks by the registry the Image names and the reason they ended with (DigestResolved or a failure reason).',
    labelNames: ['registry', 'reason'] as const,
    registers: [this.registry],
  });
  readonly #checkDuration = new Histogram({
    name: 'image_controller_check_duration_seconds',
    help: 'How long a check took, registry requests included, in seconds, by the registry the Image names.',
    labelNames: ['registry'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #digestChanges = new Counter({ name: 'image_controller_digest_changes_total', help: 'Times a tag was found pointing at a new digest.', registers: [this.registry] });
  readonly #registryRequests = new Counter({
    name: 'image_controller_registry_requests_total',
    help: 'Registry HTTP requests (manifests, tokens, redirects) by status code ("error" when no response).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly #registryLatency = new Histogram({
    name: 'image_controller_registry_request_duration_seconds',
    help: 'Registry HTTP request latency in seconds.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly #scheduleLag = new Histogram({
    name: 'image_controller_schedule_lag_seconds',
    help: 'How late checks start against their due time, in seconds (timer delay and waiting for a worker).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #truncatedTagLists = new Counter({
    name: 'image_controller_tag_lists_truncated_total',
    help: 'Tag listings cut short by a bound (tags, pages, bytes) or by a Link elsewhere, by the registry the Image names; no tag is chosen from them.',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly #statusPatchFailures = new Counter({
    name: 'image_controller_status_patch_failures_total',
    help: 'Image status patches the API server refused or that got no answer, by HTTP status ("error" when none); each is retried with backoff.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly #notifications = new Counter({
    name: 'image_controller_notifications_total',
    help: 'Registry notification requests received, by what was done with them.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly #queueDepth = new Gauge({ name: 'image_controller_queue_depth', help: 'Image checks due and waiting for a worker.', registers: [this.registry] });
  readonly #images = new Gauge({ name: 'image_controller_images', help: 'Images in the controller\'s cache, which the Image watch keeps current.', registers: [this.registry] });
  readonly #leader = new Gauge({ name: 'image_controller_leader', help: '1 when this replica holds the lease (or leader election is off), else 0.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  checkStarted(lateMs: number): void {
    this.#scheduleLag.observe(lateMs / 1000);
  }

  queueDepth(depth: number): void {
    this.#queueDepth.set(depth);
  }

  checked(check: { registry: string; reason: ImageReason; digestChanged: boolean; durationMs: number }): void {
    const registry = this.#registryLabel(check.registry);
    this.#checks.inc({ registry, reason: check.reason });
    this.#checkDuration.observe({ registry }, check.durationMs / 1000);
    if (check.digestChanged) this.#digestChanges.inc();
  }

  statusPatchFailed(code: number | undefined): void {
    this.#statusPatchFailures.inc({ code: code === undefined ? 'error' : String(code) });
  }

  imagesWatched(count: number): void {
    this.#images.set(count);
  }

  leading(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  notification(result: NotificationResult): void {
    this.#notifications.inc({ result });
  }

  /** Hook for RegistryClient's `onRequest`. Its `host` is where a request went, which a registry chooses: not a label. */
  recordRegistryRequest = (event: { status: number | 'error'; durationMs: number }): void => {
    this.#registryRequests.inc({ code: String(event.status) });
    this.#registryLatency.observe(event.durationMs / 1000);
  };

  /** Hook for the resolver's `onTruncatedListing`: `registry` is the one the Image names. */
  recordTruncatedTagList = (registry: string): void => {
    this.#truncatedTagLists.inc({ registry: this.#registryLabel(registry) });
  };

  /** The text exposition format. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #registryLabel(registry: string): string {
    if (this.#registries.has(registry)) return registry;
    if (this.#registries.size >= MAX_REGISTRY_LABELS) return OTHER_REGISTRY;
    this.#registries.add(registry);
    return registry;
  }
}
