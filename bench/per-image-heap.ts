/**
 * `node --expose-gc --import tsx bench/per-image-heap.ts [images]`: what the live heap holds per Image, stage
 * by stage, with the controller's own modules and stand-ins for the API server and the registry (as
 * `npm run bench`'s scale step shapes them: 10 Images per tag, JSON as the API server sends it). Each line is
 * the heap in use after a full GC, divided by the Images, so it says what each part of the per-Image
 * record costs; `--heap-snapshot` also writes a snapshot at the end for DevTools.
 */
import { writeHeapSnapshot } from 'node:v8';
import { IMAGE_API_VERSION, IMAGE_KIND, type Image } from '../controller/src/api/image.js';
import { cachedImage } from '../controller/src/kube/client.js';
import { EventRecorder } from '../controller/src/kube/events.js';
import { ALWAYS_LEADER } from '../controller/src/kube/leader.js';
import { createLogger } from '../controller/src/log.js';
import { CheckLoop, createImageResolver, NO_METRICS } from '../controller/src/reconcile/index.js';
import { ManualClock } from '../controller/src/testing/manual-clock.js';

const IMAGES = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 5_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/per-image-heap.ts');
const log = createLogger({ level: 'error' });
const NAMESPACE = 'bench-scale';
const digest = (i: number) => `sha256:${(i % 1_000).toString(16).padStart(64, '0')}`;

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}
const rows: [string, number][] = [];
let last = heap();
const start = last;
const stage = (name: string) => {
  const now = heap();
  rows.push([name, (now - last) / IMAGES]);
  last = now;
};

// The list the API server answers, as text: every string a fresh copy after JSON.parse, as in the controller.
let listBody = JSON.stringify({
  items: Array.from({ length: IMAGES }, (_, i) => ({
    apiVersion: IMAGE_API_VERSION,
    kind: IMAGE_KIND,
    metadata: {
      name: `img-${i}`,
      namespace: NAMESPACE,
      uid: `${i.toString(16).padStart(8, '0')}-1f1c-4c5e-9a7d-3c2b1a0f9e8d`,
      generation: 1,
      resourceVersion: String(100_000 + i),
      creationTimestamp: '2026-12-08T00:00:00Z',
      managedFields: [{ manager: 'bench', operation: 'Update', apiVersion: IMAGE_API_VERSION, time: '2026-12-08T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { '.': {}, 'f:image': {}, 'f:interval': {} } } }],
    },
    spec: { image: `127.0.0.1:5000/bench/scale:t${i % (IMAGES / 10)}`, interval: '10s' },
  })),
});
stage('(the list as text)');
const images = (JSON.parse(listBody) as { items: Image[] }).items.map(cachedImage);
listBody = '';
stage('cached Images (cachedImage of the parsed list; the text dropped)');

const clock = new ManualClock();
const stored = new Map(images.map((image) => [`${image.metadata.namespace}/${image.metadata.name}`, image]));
let sequence = 200_000;
const loop = new CheckLoop({
  // The API server's answer to the status patch, parsed from its JSON as the controller's REST client does.
  status: {
    patchImageStatus: async (namespace, name, patch) => {
      const image = stored.get(`${namespace}/${name}`)!;
      const updated = { ...image, metadata: { ...image.metadata, resourceVersion: String(sequence++) }, status: { ...image.status, ...patch } };
      return cachedImage(JSON.parse(JSON.stringify(updated)) as Image);
    },
  },
  events: new EventRecorder({ writer: { createEvent: async (_ns, event) => event, patchEvent: async () => undefined }, clock, log, instance: 'bench' }),
  resolve: createImageResolver({
    registry: {
      // Every Image here follows one tag: nothing lists tags.
      listTags: () => Promise.reject(new Error('no Image here has a tag policy')),
      resolveDigest: async (reference) => {
        const d = digest(Number(reference.tag.slice(1)));
        return { digest: d, mediaType: 'application/vnd.oci.image.index.v1+json', latestImage: reference.digestReference(d) };
      },
    },
    access: async () => ({}),
    endpointFor: async () => undefined,
    clock,
  }),
  verify: () => Promise.reject(new Error('these Images ask for no signature')),
  leadership: ALWAYS_LEADER,
  clock,
  log,
  metrics: NO_METRICS,
  defaultIntervalMs: 10_000,
  concurrency: 16,
});
loop.replaceAll(images);
images.length = 0;
stage('records (parsed spec, tag index, scheduler entry)');
await clock.advance(0);
stage('after the first check: status written, Event recorded, answers shared');
await clock.advance(30_000);
stage('after three more intervals (steady state)');
rows.push(['total', (heap() - start) / IMAGES]);

console.log(`live heap per Image, ${IMAGES} Images, node ${process.version}; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`);
for (const [name, bytes] of rows) console.log(`${Math.round(bytes).toString().padStart(7)} B  ${name}`);
if (process.argv.includes('--heap-snapshot')) console.log(`heap snapshot: ${writeHeapSnapshot()}`);
await loop.stop();
