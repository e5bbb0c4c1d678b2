/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on loopback with filesystem
 * storage in a temporary directory, optionally behind TLS from a private CA, htpasswd basic auth, or
 * token auth with an in-process token issuer, and sending push notifications.
 */
import { createPrivateKey, createSign, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { NetworkNamespace } from './netns.js';
import { issueCertificate, selfSignedCertificate } from './pki.js';
import { freePort, ManagedProcess, run } from './processes.js';
import { waitFor } from './wait.js';

export interface RegistryOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Serve HTTPS with a certificate (for 127.0.0.1 and localhost) from a private CA made for it. @default false */
  tls?: boolean;
  /** Require these credentials with Basic auth (`auth.htpasswd`). */
  htpasswd?: { username: string; password: string };
  /** Require Bearer tokens from an in-process token issuer (`auth.token`); see `Registry.username`. @default false */
  tokenAuth?: boolean;
  /** POST push and pull events to `url` with `Authorization: Bearer <token>`. */
  notifications?: { url: string; token: string };
  /**
   * Run inside this network namespace, on every address there (its loopback for the node's containerd,
   * the node IP for Pods), with the port mirrored to the host's 127.0.0.1. @default the host's loopback
   */
  namespace?: NetworkNamespace;
}

export interface Registry {
  /** `127.0.0.1:PORT`: the registry part of image references. */
  host: string;
  /** PEM of the private CA, when `tls`. */
  caPem?: string;
  /** The CA as a file, when `tls`. */
  caFile?: string;
  /** A directory holding just `ca.crt`, for skopeo's `--cert-dir`, when `tls`. */
  certDir?: string;
  /** Credentials the registry accepts, with `htpasswd` or `tokenAuth`. */
  username?: string;
  password?: string;
  /** `user:password` for skopeo's `--creds`, with `htpasswd` or `tokenAuth`. */
  creds?: string;
  /** The registry's log. */
  logFile: string;
  /**
   * Restarts the registry with push notifications to `notifications.url`, keeping what it stores, as
   * `scripts/kind-with-registry.sh --notifications` does to kind's registry.
   */
  notify(notifications: NonNullable<RegistryOptions['notifications']>): Promise<void>;
  /** Stops the registry (and token issuer) and deletes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

/** The token issuer's `service` and `issuer`: the registry only accepts tokens naming both. */
const TOKEN_SERVICE = 'test-registry';
const TOKEN_ISSUER = 'test-token-issuer';
const TOKEN_LIFETIME_SECONDS = 300;

/** Temporary directories of registries not stopped yet, removed if the test process exits first. */
const liveDirectories = new Set<string>();
process.once('exit', () => {
  for (const dir of liveDirectories) rmSync(dir, { recursive: true, force: true });
});

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  if (options.htpasswd && options.tokenAuth) throw new Error('a registry has one auth method: htpasswd or tokenAuth');
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  liveDirectories.add(dir);
  const port = options.port || (await freePort());
  const host = `127.0.0.1:${port}`;
  const logFile = join(dir, 'registry.log');
  let issuer: TokenIssuer | undefined;
  let registry: ManagedProcess | undefined;

  const stop = async () => {
    await registry?.stop();
    await issuer?.stop();
    rmSync(dir, { recursive: true, force: true });
    liveDirectories.delete(dir);
  };

  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: 'info', formatter: 'text' },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: options.namespace ? `0.0.0.0:${port}` : host, secret: randomBytes(16).toString('hex') },
    };
    const result: Omit<Registry, 'notify' | 'stop'> = { host, logFile };

    if (options.tls) {
      const certDir = join(dir, 'ca');
      const pki = await createServingCertificate(dir, certDir);
      config.http = { ...(config.http as object), tls: { certificate: pki.certFile, key: pki.keyFile } };
      Object.assign(result, { caPem: await readFile(pki.caFile, 'utf8'), caFile: pki.caFile, certDir });
    }
    if (options.htpasswd) {
      const { username, password } = options.htpasswd;
      const path = join(dir, 'htpasswd');
      // distribution only accepts bcrypt entries.
      await writeFile(path, await run('htpasswd', ['-nbB', username, password]));
      config.auth = { htpasswd: { realm: 'test-registry', path } };
      Object.assign(result, { username, password, creds: `${username}:${password}` });
    }
    if (options.tokenAuth) {
      const username = 'token-user';
      const password = randomBytes(12).toString('hex');
      issuer = await startTokenIssuer(dir, username, password);
      config.auth = {
        token: { realm: issuer.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: issuer.certFile },
      };
      Object.assign(result, { username, password, creds: `${username}:${password}` });
    }
    if (options.notifications) config.notifications = notificationsConfig(options.notifications);

    const configFile = join(dir, 'config.yml');
    const spec = { name: 'docker-registry', command: 'docker-registry', args: ['serve', configFile], logFile };
    const serve = async () => {
      // JSON is YAML, so the config needs no YAML writer.
      await writeFile(configFile, JSON.stringify(config, null, 2));
      registry = new ManagedProcess(options.namespace ? options.namespace.wrap(spec) : spec);
      await waitUntilServing(registry, host, result.caPem);
    };
    await options.namespace?.mirrorLoopbackPort(port);
    await serve();
    const notify = async (notifications: NonNullable<RegistryOptions['notifications']>) => {
      await registry?.stop();
      config.notifications = notificationsConfig(notifications);
      await serve();
    };
    return { ...result, notify, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** distribution's `notifications` section: one endpoint, sent pushes only, with the bearer token. */
function notificationsConfig({ url, token }: NonNullable<RegistryOptions['notifications']>): object {
  return {
    endpoints: [
      {
        name: 'test',
        url,
        headers: { Authorization: [`Bearer ${token}`] },
        timeout: '2s',
        threshold: 5,
        backoff: '1s',
        // Only pushes matter; without this every controller HEAD queues a pull event ahead of the next
        // push. distribution 2.8 applies `ignore.actions` only when `ignore.mediatypes` is non-empty.
        ignore: { mediatypes: ['application/octet-stream'], actions: ['pull'] },
      },
    ],
  };
}

/** Ready when `GET /v2/` answers at all: 200, or 401 when auth is on. */
async function waitUntilServing(registry: ManagedProcess, host: string, caPem: string | undefined): Promise<void> {
  const agent = new Agent({ connect: caPem ? { ca: caPem } : {} });
  try {
    await waitFor(
      `docker-registry on ${host}`,
      async () => {
        const { statusCode, body } = await request(`${caPem ? 'https' : 'http'}://${host}/v2/`, { dispatcher: agent });
        await body.dump();
        return statusCode === 200 || statusCode === 401;
      },
      { timeoutMs: 60_000, intervalMs: 100, abortIf: () => registry.assertRunning() },
    );
  } finally {
    await agent.close();
  }
}

/** A CA in `certDir/ca.crt` and a serving certificate for 127.0.0.1 and localhost signed by it. */
async function createServingCertificate(dir: string, certDir: string) {
  await mkdir(certDir);
  const ca = await selfSignedCertificate({ cert: join(certDir, 'ca.crt'), key: join(dir, 'ca.key') }, '/CN=test-registry-ca');
  const serving = await issueCertificate(ca, { cert: join(dir, 'registry.crt'), key: join(dir, 'registry.key') }, '/CN=127.0.0.1', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
  ]);
  return { caFile: ca.cert, certFile: serving.cert, keyFile: serving.key };
}

interface TokenIssuer {
  /** `http://127.0.0.1:PORT/token`, the registry's `auth.token.realm`. */
  realm: string;
  /** The signing certificate: the registry's `rootcertbundle`. */
  certFile: string;
  stop(): Promise<void>;
}

/**
 * The smallest token service distribution accepts: RS256 JWTs carrying their signing certificate in the
 * `x5c` header, that certificate being the registry's `rootcertbundle`. The right Basic credentials get
 * the actions asked for in `scope`; no credentials get a token that grants nothing (as Docker Hub does
 * for anonymous pulls of private repositories); wrong ones get 401.
 */
async function startTokenIssuer(dir: string, username: string, password: string): Promise<TokenIssuer> {
  const { cert: certFile, key: keyFile } = await selfSignedCertificate(
    { cert: join(dir, 'token-signing.crt'), key: join(dir, 'token-signing.key') },
    '/CN=test-token-issuer',
  );
  const key = createPrivateKey(await readFile(keyFile));
  const certificate = (await readFile(certFile, 'utf8')).replace(/-----[A-Z ]+-----|\s/g, '');
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const authorization = req.headers.authorization;
    if (url.pathname !== '/token' || (authorization !== undefined && authorization !== expected)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
      return;
    }
    const access = authorization === undefined ? [] : url.searchParams.getAll('scope').flatMap(parseScope);
    const token = signToken(key, certificate, url.searchParams.get('service') ?? '', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: TOKEN_LIFETIME_SECONDS, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `repository:apps/demo:pull,push` (several may share one parameter, space-separated). */
function parseScope(scope: string): { type: string; name: string; actions: string[] }[] {
  return scope.split(' ').flatMap((entry) => {
    const match = /^([^:]+):(.+):([^:]+)$/.exec(entry);
    return match ? [{ type: match[1], name: match[2], actions: match[3].split(',') }] : [];
  });
}

function signToken(key: KeyObject, certificate: string, service: string, access: object[]): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'RS256', typ: 'JWT', x5c: [certificate] });
  const claims = encode({
    iss: TOKEN_ISSUER,
    sub: 'test',
    aud: service,
    exp: now + TOKEN_LIFETIME_SECONDS,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  });
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key, 'base64url');
  return `${header}.${claims}.${signature}`;
}
