/**
 * A fault-injecting HTTP proxy in front of a real registry, for the cases no real registry produces on
 * demand: server errors, rate limits, hangs, resets, a missing Docker-Content-Digest, a huge body, a
 * redirect. With no fault set it forwards every request unchanged, so the registry stays the real one.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer with this status (and headers, e.g. Retry-After) instead of forwarding. */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Close the connection abruptly (TCP reset) before answering. */
  | { kind: 'reset' }
  /** Forward, but drop the Docker-Content-Digest header from the answer. */
  | { kind: 'strip-digest' }
  /** Answer 200 with a body of this many bytes and no digest header. */
  | { kind: 'huge-body'; bytes: number }
  /** Answer 307 to this location. */
  | { kind: 'redirect'; location: string };

export interface ProxiedRequest {
  method: string;
  path: string;
  at: number;
  /** Whether the request carried an Authorization header (never its value). */
  authorized: boolean;
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry host in references. */
  host: string;
  /** Every request seen, in order. */
  requests: ProxiedRequest[];
  /** Inject `fault` into requests whose path matches `pathPattern` (all when omitted); undefined clears it. */
  setFault(fault: Fault | undefined, pathPattern?: RegExp): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamHost: string): Promise<FaultProxy> {
  let active: { fault: Fault; pathPattern?: RegExp } | undefined;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const fault = active && (!active.pathPattern || active.pathPattern.test(path)) ? active.fault : undefined;
    requests.push({ method: req.method ?? 'GET', path, at: Date.now(), authorized: !!req.headers.authorization, fault: fault?.kind });
    applyFault(fault, upstreamHost, req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    host: `127.0.0.1:${port}`,
    requests,
    setFault(fault, pathPattern) {
      active = fault && { fault, pathPattern };
    },
    async stop() {
      // Hanging requests keep their sockets open; destroy them so close() returns.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function applyFault(fault: Fault | undefined, upstreamHost: string, req: IncomingMessage, res: ServerResponse): void {
  switch (fault?.kind) {
    case 'status':
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${fault.status}` }] }));
      return;
    case 'hang':
      return;
    case 'reset':
      req.socket.resetAndDestroy();
      return;
    case 'huge-body':
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': fault.bytes });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      writeFiller(res, fault.bytes);
      return;
    case 'redirect':
      res.writeHead(307, { location: fault.location });
      res.end();
      return;
    case 'strip-digest':
    case undefined:
      forward(req, res, upstreamHost, fault?.kind === 'strip-digest');
  }
}

function forward(req: IncomingMessage, res: ServerResponse, upstreamHost: string, stripDigest: boolean): void {
  const [hostname, port] = upstreamHost.split(':');
  const upstream = httpRequest(
    { hostname, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: upstreamHost } },
    (answer) => {
      const headers = { ...answer.headers };
      if (stripDigest) delete headers['docker-content-digest'];
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

/** Writes `bytes` of JSON-ish filler in chunks, stopping early when the client gives up. */
function writeFiller(res: ServerResponse, bytes: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let left = bytes;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => (left = 0));
  pump();
}
