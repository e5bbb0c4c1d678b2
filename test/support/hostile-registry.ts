/**
 * A registry run by an attacker, on loopback: each repository name picks one way of misbehaving, the
 * ones a real registry will not produce on demand (and each tag-list name one way of listing badly). The
 * controller under test is pointed at it beside honest Images on the real registry; everything it is
 * sent to (redirect targets, token services, a "sidecar", an "internal service") listens on 127.0.0.x
 * too, and counts the connections it gets.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the registry answers `/v2/<behaviour>/manifests/<tag>`. */
export const HostileBehaviour = {
  /**
   * Every check: a 401 naming a new token scope, a token for it (about 1 MB every third time, else 15
   * KiB), and for a request carrying it a redirect to a port never used before, which answers 200.
   */
  RotatingTokens: 'rotating-tokens',
  /** A 401 whose WWW-Authenticate is 12 KB long. */
  HugeChallenge: 'huge-challenge',
  /** A 500 with an 8 MiB body of error entries with long messages, to the GET a digest-less HEAD leads to. */
  HugeError: 'huge-error',
  /** The status line, then one header byte every 500 ms, never finishing. */
  SlowLoris: 'slow-loris',
  /** 429 with Retry-After: 999999999 (31 years). */
  RetryForever: 'retry-forever',
  /** A redirect to a plain-HTTP "sidecar" on another loopback port. */
  SidecarRedirect: 'sidecar-redirect',
  /** A token realm on an "internal service" over plain HTTP, written as an IPv4-mapped IPv6 literal. */
  InternalRealm: 'internal-realm',
  /** A redirect to itself, forever. */
  RedirectLoop: 'redirect-loop',
  /** 200 with an 8 KB Docker-Content-Digest that is not a digest. */
  HugeDigest: 'huge-digest',
} as const;
export type HostileBehaviour = (typeof HostileBehaviour)[keyof typeof HostileBehaviour];

/** How the registry answers `/v2/<behaviour>/tags/list`, for Images with a tag policy. */
export const HostileTagList = {
  /** A million tags, 1,000 a page, each page linking the next. */
  MillionTags: 'million-tags',
  /** A Link back to the page itself. */
  LinkLoop: 'link-loop',
  /** A Link to the "sidecar" on another port. */
  LinkElsewhere: 'link-elsewhere',
  /** A page of 100 MiB, sent as fast as the client reads it. */
  HugePage: 'huge-page',
  /** A page whose body comes one byte every 500 ms, never finishing. */
  TricklingPage: 'trickling-page',
  /** Tags 10 KB long (a tag is at most 128 characters). */
  LongTags: 'long-tags',
  /** Tags of a's ending in "-", for a pattern that backtracks exponentially on them: ^(a+)+$. */
  BacktrackingBait: 'backtracking-bait',
} as const;
export type HostileTagList = (typeof HostileTagList)[keyof typeof HostileTagList];
const MILLION = 1_000_000;
const PAGE = 1_000;

/** A fixed, valid digest the redirect targets answer with. */
export const HOSTILE_DIGEST = `sha256:${'ab'.repeat(32)}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Redirect targets are closed this long after they answer, so their number stays bounded here too. */
const TARGET_LIFETIME_MS = 5_000;

export interface HostileRegistry {
  /** `127.0.0.1:PORT`: the registry part of references, e.g. `${host}/rotating-tokens:latest`. */
  host: string;
  /** Connections the sidecar and the internal service received: both must stay 0. */
  readonly sidecarConnections: number;
  readonly internalConnections: number;
  /** Checks of the rotating-tokens repository that reached a redirect target (each on a new port). */
  readonly redirectsServed: number;
  /** Token scopes handed out so far. */
  readonly scopesIssued: number;
  stop(): Promise<void>;
}

export async function startHostileRegistry(): Promise<HostileRegistry> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void, address = '127.0.0.1') => {
    const server = createServer(handler);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    servers.push(server);
    return { server, port: (server.address() as AddressInfo).port };
  };

  let sidecarConnections = 0;
  let internalConnections = 0;
  let redirectsServed = 0;
  let scope = 0;
  let tokensIssued = 0;
  const sidecar = await listen((_, res) => res.end('sidecar admin page'));
  sidecar.server.on('connection', () => sidecarConnections++);
  const internal = await listen((_, res) => res.end(JSON.stringify({ token: 'internal-secret' })), '127.0.0.2');
  internal.server.on('connection', () => internalConnections++);

  /** A server on a new port that answers one manifest, then goes away. */
  const redirectTarget = async (): Promise<number> => {
    const target = await listen((_, res) => {
      redirectsServed++;
      res.writeHead(200, { 'docker-content-digest': HOSTILE_DIGEST, 'content-type': OCI_MANIFEST, 'content-length': '2' }).end();
    });
    setTimeout(() => {
      target.server.closeAllConnections();
      target.server.close();
      servers.splice(servers.indexOf(target.server), 1);
    }, TARGET_LIFETIME_MS).unref();
    return target.port;
  };

  const tags = (list: string[], link?: string) =>
    ({ headers: { 'content-type': 'application/json', ...(link ? { link } : {}) }, body: JSON.stringify({ name: 'hostile', tags: list }) });
  const tagList = (behaviour: string | undefined, url: URL, res: ServerResponse): void => {
    const page = Number(url.searchParams.get('page') ?? '0');
    const send = ({ headers, body }: ReturnType<typeof tags>) => void res.writeHead(200, headers).end(body);
    switch (behaviour) {
      case HostileTagList.MillionTags: {
        const list = Array.from({ length: PAGE }, (_, i) => `1.${page}.${i}`);
        return send(tags(list, (page + 1) * PAGE < MILLION ? `<${url.pathname}?page=${page + 1}>; rel="next"` : undefined));
      }
      case HostileTagList.LinkLoop:
        return send(tags(['1.0.0'], `<${url.pathname}?n=1000>; rel="next"`));
      case HostileTagList.LinkElsewhere:
        return send(tags(['1.0.0'], `<http://127.0.0.1:${sidecar.port}${url.pathname}?page=2>; rel="next"`));
      case HostileTagList.HugePage: {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"tags":[');
        const chunk = Buffer.from(`"1.0.0",`.repeat(8_192));
        let sent = 0;
        const more = (): void => {
          while (sent < 100 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          if (!res.destroyed) res.end('"1.0.0"]}');
        };
        return more();
      }
      case HostileTagList.TricklingPage: {
        res.writeHead(200, { 'content-type': 'application/json' });
        const drip = setInterval(() => res.write(' '), 500);
        res.on('close', () => clearInterval(drip));
        return;
      }
      case HostileTagList.LongTags:
        return send(tags(Array.from({ length: 50 }, (_, i) => `${i}.${'9'.repeat(10_000)}`)));
      case HostileTagList.BacktrackingBait:
        return send(tags(Array.from({ length: 127 }, (_, i) => `${'a'.repeat(i + 1)}-`)));
      default:
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    }
  };

  let port = 0;
  const registry = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    if (url.pathname === '/token') {
      const asked = url.searchParams.get('scope') ?? '';
      // The token names its scope, so the registry can refuse it once the scope has moved on.
      const padding = randomBytes(++tokensIssued % 3 === 0 ? 750_000 : 11_000).toString('base64');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${asked}.${padding}`, expires_in: 3600 }));
      return;
    }
    const behaviour = /^\/v2\/([^/]+)\//.exec(url.pathname)?.[1];
    if (url.pathname.endsWith('/tags/list')) return tagList(behaviour, url, res);
    switch (behaviour) {
      case HostileBehaviour.RotatingTokens: {
        // Any token but one for the newest scope gets a 401 naming a newer one; a token is good once.
        if (!req.headers.authorization?.startsWith(`Bearer repository:rotating-tokens-${scope}:pull.`)) {
          const next = `repository:rotating-tokens-${++scope}:pull`;
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="hostile",scope="${next}"` }).end();
          return;
        }
        scope++;
        void redirectTarget().then((target) => res.writeHead(307, { location: `http://127.0.0.1:${target}${url.pathname}` }).end());
        return;
      }
      case HostileBehaviour.HugeChallenge:
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token?${'x'.repeat(12_000)}",service="hostile"` }).end();
        return;
      case HostileBehaviour.HugeError: {
        // HEAD gets no body, so it is answered without a digest: the controller then GETs the manifest.
        if (req.method === 'HEAD') {
          res.writeHead(200, { 'content-type': OCI_MANIFEST }).end();
          return;
        }
        const entry = { code: 'DENIED', message: 'y'.repeat(4_000) };
        const body = JSON.stringify({ errors: new Array(1_000).fill(entry) }).padEnd(8 * 1024 * 1024, ' ');
        res.writeHead(500, { 'content-type': 'application/json' }).end(body);
        return;
      }
      case HostileBehaviour.SlowLoris: {
        res.socket?.write('HTTP/1.1 200 OK\r\nX-Slow: ');
        const drip = setInterval(() => res.socket?.write('z'), 500);
        res.socket?.on('close', () => clearInterval(drip));
        return;
      }
      case HostileBehaviour.RetryForever:
        res.writeHead(429, { 'retry-after': '999999999' }).end();
        return;
      case HostileBehaviour.SidecarRedirect:
        res.writeHead(307, { location: `http://127.0.0.1:${sidecar.port}/` }).end();
        return;
      case HostileBehaviour.InternalRealm:
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://[::ffff:127.0.0.2]:${internal.port}/token",service="internal"` }).end();
        return;
      case HostileBehaviour.RedirectLoop:
        res.writeHead(307, { location: url.pathname }).end();
        return;
      case HostileBehaviour.HugeDigest:
        res.writeHead(200, { 'docker-content-digest': `sha256:${'q'.repeat(8_000)}`, 'content-type': OCI_MANIFEST, 'content-length': '2' }).end();
        return;
      default:
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    }
  });
  port = registry.port;

  return {
    host: `127.0.0.1:${port}`,
    get sidecarConnections() {
      return sidecarConnections;
    },
    get internalConnections() {
      return internalConnections;
    },
    get redirectsServed() {
      return redirectsServed;
    },
    get scopesIssued() {
      return scope;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
