/**
 * The controller's Prometheus metrics, written in the text exposition format by hand (a handful of
 * counters, gauges and one histogram do not justify a dependency).
 */

type Labels = Record<string, string>;

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract samples(): string[];
  expose(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join('\n');
  }
}

export class Counter extends Metric {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(key, entry);
  }
  value(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels))?.value ?? 0;
  }
  samples(): string[] {
    return [...this.#values.values()].map(({ labels, value }) => `${this.name}${formatLabels(labels)} ${value}`);
  }
}

/** A gauge read when scraped, so it can never go stale. */
export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    readonly read: () => number,
  ) {
    super(name, help, 'gauge');
  }
  samples(): string[] {
    return [`${this.name} ${this.read()}`];
  }
}

export class Histogram extends Metric {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    const series = this.#series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((bound, i) => {
      if (value <= bound) series.counts[i]!++;
    });
    series.sum += value;
    series.count++;
    this.#series.set(key, series);
  }
  samples(): string[] {
    return [...this.#series.values()].flatMap(({ labels, counts, sum, count }) => [
      ...this.buckets.map((bound, i) => `${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${counts[i]}`),
      `${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`,
      `${this.name}_sum${formatLabels(labels)} ${sum}`,
      `${this.name}_count${formatLabels(labels)} ${count}`,
    ]);
  }
}

/** Live state the gauges read when scraped. */
export interface ControllerGauges {
  queueDepth(): number;
  imagesWatched(): number;
  isLeader(): boolean;
}

export class ControllerMetrics {
  readonly registryRequests = new Counter('image_controller_registry_requests_total', 'Registry HTTP requests by host and status code ("error" when no response).');
  readonly registryLatency = new Histogram(
    'image_controller_registry_request_duration_seconds',
    'Registry HTTP request latency in seconds, by host.',
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  readonly scheduleLag = new Histogram(
    'image_controller_schedule_lag_seconds',
    'How late checks start against their due time, in seconds (timer delay and waiting for a worker).',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly digestChanges = new Counter('image_controller_digest_changes_total', 'Times a tag was found pointing at a new digest.');
  readonly checks = new Counter('image_controller_checks_total', 'Image checks by the reason they ended with (DigestResolved or a failure reason).');
  readonly statusPatchFailures = new Counter(
    'image_controller_status_patch_failures_total',
    'Image status patches the API server refused or that got no answer, by HTTP status ("error" when none); each is retried with backoff.',
  );
  readonly notifications = new Counter('image_controller_notifications_total', 'Registry notification requests received, by what was done with them.');
  readonly #gauges: Gauge[];

  constructor(gauges: ControllerGauges) {
    this.#gauges = [
      new Gauge('image_controller_queue_depth', 'Image checks due and waiting for a worker.', gauges.queueDepth),
      new Gauge('image_controller_images', 'Images in the informer cache.', gauges.imagesWatched),
      new Gauge('image_controller_leader', '1 when this replica holds the lease (or leader election is off), else 0.', () => (gauges.isLeader() ? 1 : 0)),
      // Named as prom-client names them, so the usual Node.js dashboards read them.
      new Gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes (live objects and garbage not yet collected).', () => process.memoryUsage().heapUsed),
      new Gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved, in bytes.', () => process.memoryUsage().heapTotal),
    ];
  }

  /** Hook for RegistryClient's `onRequest`. */
  recordRegistryRequest = (event: { host: string; status: number | 'error'; durationMs: number }): void => {
    this.registryRequests.inc({ host: event.host, code: String(event.status) });
    this.registryLatency.observe(event.durationMs / 1000, { host: event.host });
  };

  /** The text exposition format, version 0.0.4. */
  expose(): string {
    const metrics: Metric[] = [this.registryRequests, this.registryLatency, this.scheduleLag, this.digestChanges, this.checks, this.statusPatchFailures, this.notifications, ...this.#gauges];
    return metrics.map((m) => m.expose()).join('\n') + '\n';
  }
}

function labelKey(labels: Labels): string {
  // Label names are ASCII identifiers: a code-unit order is enough, and unlike localeCompare it loads no
  // ICU collation data (≈3 MiB of RSS) and costs nothing per check.
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}
