/**
 * `npx tsx bench/notification-envelope.ts`: the event loop while the controller takes one 1 MiB registry
 * notification envelope (~14,000 push events) against 5,000 Images, through the real HTTP server on
 * loopback. Prints the longest event-loop delay seen (perf_hooks.monitorEventLoopDelay) while the
 * envelope is read, parsed and acted on, and while the Images it names are checked; the goal is
 * < 100 ms. The registry and API server are stand-ins that answer after one turn of the event loop: this
 * measures the controller, not them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { IMAGE_API_VERSION, IMAGE_KIND, type Image } from '../controller/src/api/image.js';
import { systemClock } from '../controller/src/clock.js';
import { ALWAYS_LEADER } from '../controller/src/kube/leader.js';
import { createLogger } from '../controller/src/log.js';
import { CheckLoop, NO_METRICS } from '../controller/src/reconcile/index.js';
import { ControllerServer, NOTIFICATION_MEDIA_TYPE, PrometheusMetrics } from '../controller/src/server/index.js';

const IMAGES = 5_000;
const TOKEN = 'bench';
const log = createLogger({ level: 'error' });
const digest = `sha256:${'a'.repeat(64)}`;
const ioTurn = () => new Promise((resolve) => setImmediate(resolve));

const images: Image[] = Array.from({ length: IMAGES }, (_, i) => ({
  apiVersion: IMAGE_API_VERSION,
  kind: IMAGE_KIND,
  metadata: { name: `app-${i}`, namespace: `tenant-${i % 50}`, uid: `uid-${i}`, generation: 1 },
  spec: { image: `registry.example:5000/apps/app-${i % 2_500}:latest`, interval: '24h' },
}));
const stored = new Map(images.map((image) => [`${image.metadata.namespace}/${image.metadata.name}`, image]));
let checks = 0;
let onPushMs = 0;
const controller = new CheckLoop({
  // Each answer takes one turn of the event loop, as a real request does (it waits for a socket).
  status: { patchImageStatus: async (namespace, name, patch) => (await ioTurn(), { ...stored.get(`${namespace}/${name}`)!, status: patch }) },
  events: { record: async () => undefined, forget: () => undefined },
  resolve: async (_image, spec) => (await ioTurn(), checks++, { digest, mediaType: 'application/vnd.oci.image.index.v1+json', latestImage: spec.reference.digestReference(digest) }),
  verify: () => Promise.reject(new Error('these Images ask for no signature')),
  leadership: ALWAYS_LEADER,
  clock: systemClock,
  log,
  metrics: NO_METRICS,
  defaultIntervalMs: 86_400_000,
  concurrency: 16,
});
const server = new ControllerServer({
  address: '127.0.0.1:0',
  metrics: new PrometheusMetrics(),
  notReadyReason: () => undefined,
  notificationToken: TOKEN,
  onPush: (pushed) => {
    const t = performance.now();
    const n = controller.recheckPushed(pushed);
    onPushMs = performance.now() - t;
    return n;
  },
  log,
});
const { port } = await server.listen();
controller.replaceAll(images);
while (checks < 2_500) await new Promise((resolve) => setTimeout(resolve, 50)); // every tag's first answer
await new Promise((resolve) => setTimeout(resolve, 500));

// Push events for every tag several times over, up to 1 MiB.
const events: unknown[] = [];
let size = 0;
for (let i = 0; size < 1024 * 1024 - 400; i++) {
  // The smallest event that names a tag: the most events, so the most work, a 1 MiB body can ask for.
  const event = { action: 'push', target: { repository: `apps/app-${i % 2_500}`, tag: 'latest' } };
  size += JSON.stringify(event).length + 1;
  events.push(event);
}
const body = JSON.stringify({ events });

const delay = monitorEventLoopDelay({ resolution: 5 });
const checksBefore = checks;
delay.enable();
const started = performance.now();
const response = await fetch(`http://127.0.0.1:${port}/notifications`, {
  method: 'POST',
  headers: { 'content-type': NOTIFICATION_MEDIA_TYPE, authorization: `Bearer ${TOKEN}` },
  body,
});
const answer = await response.json();
const answeredMs = performance.now() - started;
while (checks - checksBefore < 2_500) await new Promise((resolve) => setTimeout(resolve, 20)); // one fresh answer per tag
await new Promise((resolve) => setTimeout(resolve, 3_500)); // the looks again
delay.disable();
console.log(
  JSON.stringify({
    envelopeBytes: Buffer.byteLength(body),
    events: events.length,
    images: IMAGES,
    status: response.status,
    rechecking: answer.rechecking,
    answeredMs: Math.round(answeredMs),
    onPushMs: Math.round(onPushMs),
    registryAnswers: checks - checksBefore,
    maxEventLoopDelayMs: Math.round(delay.max / 1e6),
    p99EventLoopDelayMs: Math.round(delay.percentile(99) / 1e6),
  }),
);
await controller.stop();
await server.close();
