/**
 * The controller's one HTTP server: `/healthz`, `/readyz`, `/metrics` and `/notifications`.
 *
 * Readiness is "the Image cache is synced", for standbys too: if only the leader were ready, a rolling
 * update (maxUnavailable 0) would wait forever for a new pod that cannot lead while the old one lives.
 * A standby that receives a notification records it; it acts on it if it becomes leader.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { PrometheusMetrics } from './metrics.js';
import { bearerTokenMatches, NOTIFICATION_MEDIA_TYPE, parsePushedTags, type PushedTag } from './notifications.js';

export const NOTIFICATIONS_PATH = '/notifications';

/** Most distinct tags one notification envelope acts on; the rest wait for their Images' next poll. */
export const MAX_TAGS_PER_NOTIFICATION = 10_000;
/** Tags acted on per turn of the event loop. */
const TAGS_PER_TURN = 500;

export interface ControllerServerOptions {
  /** `--http-address`: `[host]:port`; an empty host listens on every interface. */
  address: string;
  metrics: Pick<PrometheusMetrics, 'expose' | 'notification'>;
  /** Why the controller is not ready yet, or undefined when it is. */
  notReadyReason: () => string | undefined;
  /** When set, `/notifications` requires this bearer token; when unset, it answers 404. */
  notificationToken?: string;
  /** Re-checks the Images watching the pushed tags (one entry per tag); returns how many. */
  onPush: (pushed: PushedTag[]) => number;
  log: Logger;
  /** Largest notification body accepted. @default 1 MiB */
  maxBodyBytes?: number;
  /** `/healthz` fails when the event loop has not turned for this long. @default 10 s */
  maxEventLoopStallMs?: number;
  /** A client must send its request headers within this. @default 10 s */
  headersTimeoutMs?: number;
  /** A client must send its whole request (a notification's body included) within this. @default 30 s */
  requestTimeoutMs?: number;
  /** Connections open at once; more are refused at accept. Probes, scrapes and a registry's notifier need few. @default 64 */
  maxConnections?: number;
}

/** `:8080` → { port 8080 }, `127.0.0.1:0`, `[::1]:8080`. */
export function parseListenAddress(address: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) throw new Error(`--http-address "${address}" must be [host]:port, e.g. :8080 or 127.0.0.1:8080`);
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

export class ControllerServer {
  readonly #options: ControllerServerOptions;
  readonly #server: Server;
  #lastTick = Date.now();
  #ticker?: NodeJS.Timeout;

  constructor(options: ControllerServerOptions) {
    this.#options = options;
    // Node's defaults (60 s for headers, 300 s per request, no connection cap) let a slow client hold a
    // socket for minutes, and many of them hold the port.
    // The timeouts are enforced when Node checks connections, every second here instead of every 30 s.
    const limits = { headersTimeout: options.headersTimeoutMs ?? 10_000, requestTimeout: options.requestTimeoutMs ?? 30_000, connectionsCheckingInterval: 1_000 };
    this.#server = createServer(limits, (request, response) => {
      this.#route(request, response).catch((error) => {
        options.log.error('HTTP handler failed', { path: request.url, error: String(error) });
        if (!response.headersSent) send(response, 500, 'internal error\n');
        else response.destroy();
      });
    });
    this.#server.maxConnections = options.maxConnections ?? 64;
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Listens; resolves to the bound address (port 0 picks a free one). */
  async listen(): Promise<AddressInfo> {
    const { host, port } = parseListenAddress(this.#options.address);
    this.#ticker = setInterval(() => (this.#lastTick = Date.now()), 1000);
    this.#ticker.unref();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://controller').pathname;
    switch (path) {
      case '/healthz': {
        const stalledMs = Date.now() - this.#lastTick;
        const limit = this.#options.maxEventLoopStallMs ?? 10_000;
        return stalledMs > limit ? send(response, 503, `event loop stalled for ${stalledMs}ms\n`) : send(response, 200, 'ok\n');
      }
      case '/readyz': {
        const reason = this.#options.notReadyReason();
        return reason ? send(response, 503, `${reason}\n`) : send(response, 200, 'ok\n');
      }
      case '/metrics': {
        const { contentType, body } = await this.#options.metrics.expose();
        return send(response, 200, body, contentType);
      }
      case NOTIFICATIONS_PATH:
        return this.#notification(request, response);
      default:
        return send(response, 404, 'not found\n');
    }
  }

  async #notification(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { notificationToken, metrics, onPush, log, maxBodyBytes = 1024 * 1024 } = this.#options;
    if (!notificationToken) return send(response, 404, 'notifications are disabled: no notification token is configured\n');
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      return send(response, 405, 'POST a registry notification envelope\n');
    }
    if (!bearerTokenMatches(request.headers.authorization, notificationToken)) {
      metrics.notification('unauthorized');
      response.setHeader('www-authenticate', 'Bearer realm="image-controller notifications"');
      return send(response, 401, 'a valid Authorization: Bearer token is required\n');
    }
    const body = await readBody(request, maxBodyBytes);
    if (body === undefined) {
      metrics.notification('too_large');
      response.setHeader('connection', 'close');
      return send(response, 413, `body larger than ${maxBodyBytes} bytes\n`);
    }
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const pushed = contentType === NOTIFICATION_MEDIA_TYPE || contentType === 'application/json' ? parsePushedTags(body) : undefined;
    if (!pushed) {
      metrics.notification('invalid');
      return send(response, 400, `expected a ${NOTIFICATION_MEDIA_TYPE} envelope: {"events":[…]}\n`);
    }
    // One entry per tag (its last push), at most MAX_TAGS_PER_NOTIFICATION of them, acted on in batches
    // with a turn of the event loop between: parsing a 1 MiB envelope is one long turn already.
    const tags = [...new Map(pushed.map((push) => [`${push.repository}:${push.tag}`, push])).values()].slice(0, MAX_TAGS_PER_NOTIFICATION);
    let images = 0;
    for (let start = 0; start < tags.length; start += TAGS_PER_TURN) {
      await new Promise((resolve) => setImmediate(resolve));
      images += onPush(tags.slice(start, start + TAGS_PER_TURN));
    }
    // The registry retries anything but 2xx forever, so a valid envelope is always accepted.
    metrics.notification('accepted');
    log.info('registry notification', { events: pushed.length, pushed: pushed.slice(0, 10).map((p) => `${p.repository}:${p.tag}`), images });
    return send(response, 202, JSON.stringify({ rechecking: images }) + '\n', 'application/json');
  }
}

/**
 * A body up to this many times the limit is read to its end and dropped, so a client still sending gets
 * the 413 instead of a broken pipe; past that the connection is closed mid-body.
 */
const DRAINED_BODY_FACTOR = 4;

/** The body as text, or undefined when it exceeds `limit` bytes (what is past it is not kept). */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const drainLimit = limit * DRAINED_BODY_FACTOR;
  if (Number(request.headers['content-length'] ?? 0) > drainLimit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > drainLimit) return undefined;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
