/**
 * What the measurements share: cleanup that also runs on Ctrl-C, the API server as admin (bulk Image
 * creation, its /metrics), the controller's /metrics and its process in /proc, tags made cheaply in a
 * real registry, and the arithmetic (percentiles, histogram quantiles).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { MANIFEST_ACCEPT } from '../controller/src/registry/manifest.js';
import { pushImage, writeImageLayout } from '../test/support/oci.js';
import { controllerBundle } from '../test/support/supply-chain-system.js';
import { waitFor } from '../test/support/wait.js';
import type { ControllerRuntime } from './runtime.js';

export { waitFor };

export interface BenchOptions {
  quick: boolean;
  /** What the controller runs on (bench/runtime.ts). */
  runtime: ControllerRuntime;
  /** Progress lines go to stderr, so stdout holds only the table (and the JSON line). */
  progress: (message: string) => void;
}

/** One figure of the report. */
export interface Figure {
  key: string;
  value: number | null;
  unit: string;
  /** Human-readable goal, e.g. `≥ 0.9`; `report` when there is none. */
  goal: string;
  /** Whether the goal is met; undefined when there is no goal or no value. */
  met?: boolean;
  /** How it was measured, in a few words. */
  how: string;
  /** What stands in the way of the goal, or anything a reader should know about the figure. */
  notes?: string;
  /** Raw numbers behind the figure, for the JSON output. */
  details?: Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Cleanup steps, newest first; run once at the end or on SIGINT/SIGTERM. */
export class Cleanup {
  readonly #steps: { name: string; run: () => Promise<unknown> | unknown }[] = [];
  #ran?: Promise<void>;

  add(name: string, run: () => Promise<unknown> | unknown): void {
    this.#steps.unshift({ name, run });
  }

  runAll(): Promise<void> {
    this.#ran ??= (async () => {
      for (const step of this.#steps) {
        try {
          await step.run();
        } catch (error) {
          console.error(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : error}`);
        }
      }
    })();
    return this.#ran;
  }
}

// ---------------------------------------------------------------------------------------------------
// The API server, as the admin of the control plane

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority': string } }[];
  users: { user: { 'client-certificate': string; 'client-key': string } }[];
}

export class AdminApi {
  readonly server: string;
  readonly #agent: Agent;

  /** From the control plane's admin kubeconfig (JSON, client certificate). */
  constructor(kubeconfigPath: string) {
    const config = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as Kubeconfig;
    const { cluster } = config.clusters[0]!;
    const { user } = config.users[0]!;
    this.server = cluster.server;
    this.#agent = new Agent({
      connections: 32,
      connect: {
        ca: readFileSync(cluster['certificate-authority']),
        cert: readFileSync(user['client-certificate']),
        key: readFileSync(user['client-key']),
      },
    });
  }

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const response = await request(`${this.server}${path}`, {
      method,
      dispatcher: this.#agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  async ensureNamespace(name: string): Promise<void> {
    const { status, text } = await this.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (status !== 201 && status !== 409) throw new Error(`creating namespace ${name}: ${status} ${text}`);
  }

  /** Creates Images `name(i)` for i in [from, to) with up to 32 requests in flight. */
  createImages(namespace: string, from: number, to: number, image: (i: number) => { name: string; spec: Record<string, unknown> }): Promise<void> {
    return this.createObjects(`/apis/example.com/v1/namespaces/${namespace}/images`, from, to, (i) => {
      const { name, spec } = image(i);
      return { apiVersion: 'example.com/v1', kind: 'Image', metadata: { name, namespace }, spec };
    });
  }

  /** POSTs `object(i)` to the collection `path` for i in [from, to), up to 32 requests in flight; one that exists already is left as it is. */
  async createObjects(path: string, from: number, to: number, object: (i: number) => { metadata: { name: string } }): Promise<void> {
    let next = from;
    const worker = async () => {
      for (let i = next++; i < to; i = next++) {
        const body = object(i);
        const { status, text } = await this.call('POST', path, body);
        if (status !== 201 && status !== 409) throw new Error(`creating ${path}/${body.metadata.name}: ${status} ${text}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  }

  /** The items of a collection, e.g. `/apis/example.com/v1/namespaces/x/images`. */
  async list<T>(path: string): Promise<T[]> {
    const { status, text } = await this.call('GET', path);
    if (status !== 200) throw new Error(`listing ${path}: ${status} ${text}`);
    return (JSON.parse(text) as { items: T[] }).items;
  }

  listImages(namespace: string): Promise<{ metadata: { name: string }; status?: { latestImage?: string } }[]> {
    return this.list(`/apis/example.com/v1/namespaces/${namespace}/images`);
  }

  /** Writes (POST, PATCH, PUT) the API server has served on Images, their status and Events, from its /metrics. */
  imageAndEventWrites(): Promise<{ total: number; byKind: Record<string, number> }> {
    return this.writes(['images', 'events']);
  }

  /** Writes (POST, PATCH, PUT) the API server has served on `resources` (and their subresources), from its /metrics. */
  async writes(resources: string[]): Promise<{ total: number; byKind: Record<string, number> }> {
    const { status, text } = await this.call('GET', '/metrics');
    if (status !== 200) throw new Error(`apiserver /metrics: ${status}`);
    const byKind: Record<string, number> = {};
    let total = 0;
    for (const sample of parseMetrics(text)) {
      if (sample.name !== 'apiserver_request_total') continue;
      const { verb = '', resource = '', subresource = '' } = sample.labels;
      if (!['POST', 'PATCH', 'PUT'].includes(verb) || !resources.includes(resource)) continue;
      const kind = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
      byKind[kind] = (byKind[kind] ?? 0) + sample.value;
      total += sample.value;
    }
    return { total, byKind };
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Prometheus text

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of every sample named `name` whose labels include `where`. */
export function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/** Cumulative bucket counts of histogram `name` (summed over its other labels), by upper bound. */
export function histogramBuckets(samples: Sample[], name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
  }
  return buckets;
}

/**
 * The q-quantile of the observations between two scrapes of a histogram, interpolated within its
 * bucket as Prometheus' histogram_quantile does. Undefined without observations.
 */
export function histogramQuantile(q: number, before: Map<number, number>, after: Map<number, number>): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! < rank) continue;
    const upper = bounds[i]!;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : counts[i - 1]!;
    return lower + ((upper - lower) * (rank - below)) / Math.max(1, counts[i]! - below);
  }
  return bounds[bounds.length - 2];
}

export async function controllerMetrics(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`controller /metrics: ${response.status}`);
  return parseMetrics(await response.text());
}

// ---------------------------------------------------------------------------------------------------
// The controller process in /proc

const CLOCK_TICKS_PER_SECOND = 100;

/** The pid of the bundled controller listening on `url`'s port (found by its command line). */
export function controllerPid(url: string): number {
  const address = new URL(url).host;
  return pidOf(`controller process listening on ${address}`, (cmdline) => cmdline.includes(controllerBundle) && cmdline.includes(address));
}

/** The pid of the one process whose command line (argv) `matches`. */
export function pidOf(what: string, matches: (cmdline: string[]) => boolean): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (matches(cmdline)) return Number(entry);
  }
  throw new Error(`no ${what}`);
}

/** VmRSS in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** RssFile in bytes: pages mapped from files, mostly the node binary's own text. */
export function rssFileBytes(pid: number): number {
  const match = /^RssFile:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** utime + stime in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5); the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

// ---------------------------------------------------------------------------------------------------
// Registry content

/**
 * Pushes one image to `host/repository:base` with skopeo, then points `tags(i)` for i in [0, count) at
 * the same manifest with a manifest PUT each (cheap, so thousands of tags take seconds). Each tag is a
 * separate name the registry resolves, with the same digest.
 */
export async function seedTags(host: string, repository: string, count: number, tag: (i: number) => string, layoutDir: string): Promise<string> {
  const layout = await writeImageLayout(layoutDir, { tag: 'base' });
  await pushImage(layout, `${host}/${repository}:base`);
  const get = await request(`http://${host}/v2/${repository}/manifests/base`, { headers: { accept: MANIFEST_ACCEPT } });
  const manifest = Buffer.from(await get.body.arrayBuffer());
  const contentType = String(get.headers['content-type']);
  const digest = String(get.headers['docker-content-digest']);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const put = await request(`http://${host}/v2/${repository}/manifests/${tag(i)}`, { method: 'PUT', headers: { 'content-type': contentType }, body: manifest });
      await put.body.dump();
      if (put.statusCode !== 201) throw new Error(`PUT ${repository}:${tag(i)}: ${put.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return digest;
}

// ---------------------------------------------------------------------------------------------------
// Arithmetic

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));
