import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { makeImage } from '../testing/images.js';
import { ControllerServer, parseListenAddress } from './http.js';
import { parseImageReference } from '../registry/index.js';
import { MAX_REGISTRY_LABELS, PrometheusMetrics } from './metrics.js';
import { NOTIFICATION_MEDIA_TYPE, type PushedTag } from './notifications.js';

const log = createLogger({ write: () => undefined });
const TOKEN = 's3cret-token';
const images = [makeImage('demo'), makeImage('other', { image: 'localhost:5000/apps/other' }), makeImage('pinned', { image: 'localhost:5000/apps/demo:v1' })];

const envelope = (repository: string, tag?: string) =>
  JSON.stringify({
    events: [
      { action: 'push', target: { mediaType: 'application/octet-stream', repository, digest: 'sha256:blob' }, request: { host: 'localhost:5000' } },
      { action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository, tag, digest: 'sha256:ignored' }, request: { host: 'localhost:5000' } },
    ],
  });

let server: ControllerServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: { token?: string; synced?: boolean } = {}) {
  const rechecked: string[][] = [];
  const metrics = new PrometheusMetrics();
  server = new ControllerServer({
    address: '127.0.0.1:0',
    metrics,
    notReadyReason: () => (options.synced === false ? 'not synced' : undefined),
    notificationToken: options.token,
    onPush: (pushed: PushedTag[]) => {
      const watches = (image: (typeof images)[number]) => {
        const reference = parseImageReference(image.spec.image);
        return pushed.some((p) => p.repository === reference.repository && p.tag === reference.tag);
      };
      const matched = images.filter(watches).map((i) => i.metadata.name);
      rechecked.push(matched);
      return matched.length;
    },
    log,
    maxBodyBytes: 64 * 1024,
  });
  const { port } = await server.listen();
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const notify = (body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(url('/notifications'), { method: 'POST', body, headers: { 'content-type': NOTIFICATION_MEDIA_TYPE, ...headers } });
  return { url, notify, rechecked, metrics };
}

describe('/notifications', () => {
  it('answers 404 when no token is configured', async () => {
    const { notify } = await start();
    expect((await notify(envelope('apps/demo', 'latest'))).status).toBe(404);
  });

  it('answers 401 without the bearer token or with a wrong one', async () => {
    const { notify, rechecked } = await start({ token: TOKEN });
    expect((await notify(envelope('apps/demo', 'latest'), {})).status).toBe(401);
    const wrong = await notify(envelope('apps/demo', 'latest'), { authorization: 'Bearer s3cret-tokeN' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(rechecked).toEqual([]);
  });

  it('answers 413 for a body over the limit', async () => {
    const { notify } = await start({ token: TOKEN });
    const response = await notify(JSON.stringify({ events: [], padding: 'x'.repeat(100 * 1024) }));
    expect(response.status).toBe(413);
  });

  it('answers 400 for something that is not an envelope', async () => {
    const { notify } = await start({ token: TOKEN });
    expect((await notify('{"nope": true}')).status).toBe(400);
    expect((await notify('not json')).status).toBe(400);
  });

  it('accepts a valid envelope and re-checks only the Images watching the pushed tag', async () => {
    const { notify, rechecked, metrics } = await start({ token: TOKEN });
    const response = await notify(envelope('apps/demo', 'latest'));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ rechecking: 1 });
    expect(rechecked).toEqual([['demo']]);
    expect((await metrics.expose()).body).toContain('image_controller_notifications_total{result="accepted"} 1');
  });

  it('accepts a valid envelope that names no Image (the registry would retry anything else forever)', async () => {
    const { notify, rechecked } = await start({ token: TOKEN });
    expect((await notify(envelope('apps/unknown', 'latest'))).status).toBe(202);
    expect((await notify(envelope('apps/demo'))).status).toBe(202); // push by digest: no tag moved
    expect(rechecked).toEqual([[]]);
  });

  it('only takes POST', async () => {
    const { url } = await start({ token: TOKEN });
    const response = await fetch(url('/notifications'), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(405);
  });
});

describe('health, readiness and metrics', () => {
  it('/healthz is 200 while the event loop turns', async () => {
    const { url } = await start();
    expect((await fetch(url('/healthz'))).status).toBe(200);
  });

  it('/readyz is 503 until the cache is synced', async () => {
    const notSynced = await start({ synced: false });
    const response = await fetch(notSynced.url('/readyz'));
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('not synced');
    await server!.close();
    const synced = await start();
    expect((await fetch(synced.url('/readyz'))).status).toBe(200);
  });

  it('/metrics is Prometheus text with every metric the controller promises', async () => {
    const { url, metrics } = await start();
    metrics.recordRegistryRequest({ status: 200, durationMs: 12 });
    metrics.checked({ registry: 'localhost:5000', reason: 'DigestResolved', digestChanged: true, durationMs: 20 });
    metrics.checkStarted(3);
    metrics.queueDepth(3);
    metrics.imagesWatched(3);
    metrics.leading(true);
    const response = await fetch(url('/metrics'));
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await response.text();
    for (const line of [
      'image_controller_registry_requests_total{code="200"} 1',
      'image_controller_registry_request_duration_seconds_bucket{le="0.025"} 1',
      'image_controller_registry_request_duration_seconds_bucket{le="0.01"} 0',
      'image_controller_registry_request_duration_seconds_count 1',
      'image_controller_digest_changes_total 1',
      'image_controller_checks_total{registry="localhost:5000",reason="DigestResolved"} 1',
      'image_controller_check_duration_seconds_bucket{le="0.025",registry="localhost:5000"} 1',
      'image_controller_queue_depth 3',
      'image_controller_images 3',
      'image_controller_leader 1',
      '# TYPE image_controller_registry_request_duration_seconds histogram',
      'image_controller_schedule_lag_seconds_bucket{le="0.0025"} 0',
      'image_controller_schedule_lag_seconds_bucket{le="0.005"} 1',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^nodejs_heap_size_used_bytes [1-9]\d*$/m);
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
  });

  it('labels at most MAX_REGISTRY_LABELS registries; Images naming more are counted as "other"', async () => {
    const metrics = new PrometheusMetrics();
    for (let i = 0; i < MAX_REGISTRY_LABELS + 10; i++) metrics.checked({ registry: `r${i}.example`, reason: 'DigestResolved', digestChanged: false, durationMs: 1 });
    const checks = (await metrics.expose()).body.split('\n').filter((line) => line.startsWith('image_controller_checks_total{'));
    expect(checks).toHaveLength(MAX_REGISTRY_LABELS + 1);
    expect(checks).toContain('image_controller_checks_total{registry="other",reason="DigestResolved"} 10');
  });
});

describe('the listener', () => {
  const connect = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.once('error', reject);
    });
  const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

  it('drops a client that does not finish its request headers in time', async () => {
    server = new ControllerServer({ address: '127.0.0.1:0', metrics: new PrometheusMetrics(), notReadyReason: () => undefined, onPush: () => 0, log, headersTimeoutMs: 200 });
    const { port } = await server.listen();
    const slow = await connect(port);
    slow.write('POST /notifications HTTP/1.1\r\nHost: x\r\n'); // and never the rest
    let answer = '';
    slow.on('data', (chunk) => (answer += chunk));
    await closed(slow);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('refuses connections beyond maxConnections, and serves again once they close', async () => {
    server = new ControllerServer({ address: '127.0.0.1:0', metrics: new PrometheusMetrics(), notReadyReason: () => undefined, onPush: () => 0, log, maxConnections: 2 });
    const { port } = await server.listen();
    const held = [await connect(port), await connect(port)];
    const third = await connect(port);
    await closed(third); // closed by the server at accept
    held.forEach((socket) => socket.destroy());
    await Promise.all(held.map(closed));
    await waitForOk(port);
  });
});

/** Retries /healthz until the server, no longer at its connection cap, answers. */
async function waitForOk(port: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // still at the cap: the server closed the connection
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('parseListenAddress', () => {
  it.each([
    [':8080', { port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9090', { host: '::1', port: 9090 }],
  ])('%s', (address, expected) => expect(parseListenAddress(address)).toEqual(expected));

  it.each(['8080', 'localhost', ':99999'])('refuses %s', (address) => expect(() => parseListenAddress(address)).toThrow(/--http-address/));
});
