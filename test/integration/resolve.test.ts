/**
 * Resolving tags against a real registry (Debian's docker-registry) with images pushed by skopeo: the
 * digest the controller reports must be the one skopeo sees. Faults no real registry produces on demand
 * (a missing Docker-Content-Digest, a huge body, a hang) come from the fault proxy in front of it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageReason } from '../../controller/src/api/image.js';
import {
  MediaType,
  parseImageReference,
  RegistryClient,
  RegistryError,
  type RequestEvent,
  type ResolveOptions,
} from '../../controller/src/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { pushImage, skopeoDigest, skopeoMediaType, writeImageLayout, type PushOptions } from '../support/oci.js';
import { freePort, run } from '../support/processes.js';
import { startRegistry, type Registry } from '../support/registry.js';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const bundle = join(repositoryRoot, 'controller', 'dist', 'image-controller.js');

let work: string;
let layoutCount = 0;

/** Writes a new image (new digests every time) and pushes it to `destination`. */
async function pushNewImage(destination: string, options: PushOptions & { multiArch?: boolean } = {}) {
  const layout = await writeImageLayout(join(work, `layout-${++layoutCount}`), { multiArch: options.multiArch });
  await pushImage(layout, destination, options);
  return layout;
}

async function resolve(reference: string, options: ResolveOptions = {}, client = new RegistryClient()) {
  try {
    return await client.resolveDigest(parseImageReference(reference), options);
  } finally {
    await client.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
  throw new Error('expected the resolve to fail');
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled `image-controller resolve`, as `npx image-controller resolve` does. */
function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    // An empty DOCKER_CONFIG: the machine's own ~/.docker/config.json must not change what a test sees.
    const env = { ...process.env, DOCKER_CONFIG: join(work, 'no-docker-config'), HOME: work };
    const child = spawn(process.execPath, [bundle, 'resolve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolveResult({ code, stdout, stderr }));
  });
}

/** A failing CLI run prints exactly one `Reason: message` line on stderr, nothing on stdout, and exits 1. */
function expectCliFailure(result: CliResult, reason: ImageReason, message: string | RegExp) {
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  const [, printedReason, printedMessage] = /^(\w+): (.*)\n$/.exec(result.stderr) ?? [];
  expect(printedReason).toBe(reason);
  if (typeof message === 'string') expect(printedMessage).toBe(message);
  else expect(printedMessage).toMatch(message);
  expect(result.code).toBe(1);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'resolve-it-'));
  // The CLI is tested through the bundle that ships, built from the source under test.
  await run('npm', ['run', 'build', '-w', 'controller'], { cwd: repositoryRoot });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a plain-HTTP registry on loopback', () => {
  let registry: Registry;

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it.each([
    ['Docker schema 2 manifest', 'apps/v2s2:1', { format: 'v2s2' }, MediaType.DockerManifest],
    ['OCI manifest', 'apps/oci:1', { format: 'oci' }, MediaType.OciManifest],
    ['OCI index (the index digest)', 'apps/index:1', { all: true, multiArch: true }, MediaType.OciIndex],
    ['Docker manifest list', 'apps/list:1', { all: true, multiArch: true, format: 'v2s2' }, MediaType.DockerManifestList],
  ] as const)('%s: the digest skopeo sees', async (_name, path, pushOptions, mediaType) => {
    const reference = `${registry.host}/${path}`;
    await pushNewImage(reference, pushOptions);
    const expected = await skopeoDigest(reference);
    expect(await skopeoMediaType(reference)).toBe(mediaType);

    const resolved = await resolve(reference);

    expect(resolved).toEqual({
      digest: expected,
      mediaType,
      latestImage: `${registry.host}/${path.split(':')[0]}@${expected}`,
    });
  });

  it('resolves an implicit :latest', async () => {
    await pushNewImage(`${registry.host}/apps/implicit`);
    const expected = await skopeoDigest(`${registry.host}/apps/implicit:latest`);
    expect((await resolve(`${registry.host}/apps/implicit`)).latestImage).toBe(`${registry.host}/apps/implicit@${expected}`);
  });

  it('sees a re-push to the same tag as a new digest', async () => {
    const reference = `${registry.host}/apps/moving:latest`;
    const client = new RegistryClient();
    try {
      await pushNewImage(reference);
      const before = await client.resolveDigest(parseImageReference(reference));
      await pushNewImage(reference);
      const after = await client.resolveDigest(parseImageReference(reference));
      expect(after.digest).not.toBe(before.digest);
      expect(after.digest).toBe(await skopeoDigest(reference));
    } finally {
      await client.close();
    }
  });

  it('says when the repository is unknown', async () => {
    const error = await failure(resolve(`${registry.host}/apps/never-pushed:1`));
    expect({ reason: error.reason, message: error.message }).toEqual({
      reason: ImageReason.NotFound,
      message: `registry ${registry.host} has no repository apps/never-pushed`,
    });
  });

  it('says when the tag is unknown, and which tags there are', async () => {
    await pushNewImage(`${registry.host}/apps/tagged:v1`);
    const error = await failure(resolve(`${registry.host}/apps/tagged:v2`));
    expect({ reason: error.reason, message: error.message }).toEqual({
      reason: ImageReason.NotFound,
      message: `registry ${registry.host} has no tag v2 in repository apps/tagged (its tags: v1)`,
    });
  });

  it('remembers that the registry speaks plain HTTP: one request per later check', async () => {
    await pushNewImage(`${registry.host}/apps/counted:1`);
    const requests: RequestEvent[] = [];
    const client = new RegistryClient({ onRequest: (event) => requests.push(event) });
    try {
      await client.resolveDigest(parseImageReference(`${registry.host}/apps/counted:1`));
      // The first check tries HTTPS, as Docker does for a loopback registry, and falls back.
      expect(requests.map((r) => [r.method, r.status])).toEqual([['HEAD', 'error'], ['HEAD', 200]]);
      requests.length = 0;
      await client.resolveDigest(parseImageReference(`${registry.host}/apps/counted:1`));
      expect(requests.map((r) => [r.host, r.hop, r.method, r.status])).toEqual([[registry.host, 'registry', 'HEAD', 200]]);
    } finally {
      await client.close();
    }
  });

  it('refuses plain HTTP to a registry that is not on loopback, before connecting', async () => {
    const requests: RequestEvent[] = [];
    const client = new RegistryClient({ onRequest: (event) => requests.push(event) });
    const error = await failure(
      resolve('registry.example.test/apps/demo', { endpoint: 'http://registry.example.test:5000' }, client),
    );
    expect(error.reason).toBe(ImageReason.InsecureNotAllowed);
    expect(error.message).toBe(
      'registry registry.example.test:5000 (for registry.example.test) would be contacted over plain HTTP at ' +
        'registry.example.test:5000, which is allowed only for loopback registries; set spec.insecure: true ' +
        '(--insecure for resolve) to allow it',
    );
    expect(requests).toEqual([]);
  });

  it('says when nothing listens', async () => {
    const port = await freePort();
    const error = await failure(resolve(`127.0.0.1:${port}/apps/demo`));
    expect({ reason: error.reason, message: error.message }).toEqual({
      reason: ImageReason.RegistryUnavailable,
      message: `cannot connect to registry 127.0.0.1:${port}: connection refused`,
    });
  });

  describe('behind the fault proxy', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(registry.host);
      await pushNewImage(`${registry.host}/apps/faults:1`, { multiArch: true, all: true });
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('computes the digest from the body when Docker-Content-Digest is missing', async () => {
      proxy.setFault({ kind: 'strip-digest' });
      const resolved = await resolve(`${proxy.host}/apps/faults:1`);
      expect(resolved.digest).toBe(await skopeoDigest(`${registry.host}/apps/faults:1`));
      expect(resolved.mediaType).toBe(MediaType.OciIndex);
      expect(proxy.requests.filter((r) => r.path === '/v2/apps/faults/manifests/1').map((r) => r.method)).toEqual(['HEAD', 'GET']);
    });

    it('refuses a manifest over the size bound', async () => {
      proxy.setFault({ kind: 'huge-body', bytes: 5 * 1024 * 1024 });
      const error = await failure(resolve(`${proxy.host}/apps/faults:1`));
      expect({ reason: error.reason, message: error.message }).toEqual({
        reason: ImageReason.InvalidManifest,
        message: `registry ${proxy.host} sent a manifest for apps/faults:1 larger than 4194304 bytes, the most the controller reads`,
      });
    });

    it('gives up on a registry that does not answer', async () => {
      proxy.setFault({ kind: 'hang' });
      const started = Date.now();
      const error = await failure(resolve(`${proxy.host}/apps/faults:1`, {}, new RegistryClient({ requestTimeoutMs: 1000 })));
      expect({ reason: error.reason, message: error.message }).toEqual({
        reason: ImageReason.RegistryUnavailable,
        message: `registry ${proxy.host} did not answer within 1s`,
      });
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it.each([
      [
        { kind: 'status', status: 429, headers: { 'retry-after': '30' } },
        { reason: ImageReason.RateLimited, httpStatus: 429, retryAfterMs: 30_000 },
        'is rate limiting requests for apps/faults:1; it asked to retry in 30s',
      ],
      [
        { kind: 'status', status: 503 },
        { reason: ImageReason.RegistryUnavailable, httpStatus: 503, retryAfterMs: undefined },
        'answered a server error, HTTP 503, for apps/faults:1',
      ],
      [
        { kind: 'reset' },
        { reason: ImageReason.RegistryUnavailable, httpStatus: undefined, retryAfterMs: undefined },
        'closed the connection before answering',
      ],
    ] as const)('maps %j', async (fault, expected, message) => {
      proxy.setFault(fault);
      const error = await failure(resolve(`${proxy.host}/apps/faults:1`));
      expect({ reason: error.reason, httpStatus: error.httpStatus, retryAfterMs: error.retryAfterMs }).toEqual(expected);
      expect(error.message).toContain(`registry ${proxy.host} ${message}`);
    });

    it('follows a redirect to another loopback port when the Image is insecure, and only then', async () => {
      proxy.setFault({ kind: 'redirect', location: `http://${registry.host}/v2/apps/faults/manifests/1` });
      // Plain HTTP without `insecure` is for the loopback registry the Image names, not where it redirects.
      const refused = await failure(resolve(`${proxy.host}/apps/faults:1`));
      expect(refused.reason).toBe(ImageReason.InsecureNotAllowed);
      const resolved = await resolve(`${proxy.host}/apps/faults:1`, { insecure: true });
      expect(resolved.latestImage).toBe(`${proxy.host}/apps/faults@${await skopeoDigest(`${registry.host}/apps/faults:1`)}`);
    });

    it('refuses a redirect to plain HTTP on a host that is not on loopback', async () => {
      proxy.setFault({ kind: 'redirect', location: 'http://registry.example.test/v2/apps/faults/manifests/1' });
      const error = await failure(resolve(`${proxy.host}/apps/faults:1`));
      expect(error.reason).toBe(ImageReason.InsecureNotAllowed);
      expect(error.message).toContain('redirected over plain HTTP at registry.example.test');
    });

    it('CLI: --timeout bounds a hanging registry', async () => {
      proxy.setFault({ kind: 'hang' });
      expectCliFailure(
        await cli([`${proxy.host}/apps/faults:1`, '--timeout', '1s']),
        ImageReason.RegistryUnavailable,
        `registry ${proxy.host} did not answer within 1s`,
      );
    });
  });

  describe('the CLI (the bundle)', () => {
    it('prints the index digest of a multi-arch image and exits 0', async () => {
      const reference = `${registry.host}/apps/cli:1`;
      await pushNewImage(reference, { multiArch: true, all: true });
      const result = await cli([reference]);
      expect(result).toEqual({ code: 0, stdout: `${registry.host}/apps/cli@${await skopeoDigest(reference)}\n`, stderr: '' });
    });

    it('reports an unknown tag', async () => {
      await pushNewImage(`${registry.host}/apps/cli-tags:v1`);
      expectCliFailure(
        await cli([`${registry.host}/apps/cli-tags:v9`]),
        ImageReason.NotFound,
        `registry ${registry.host} has no tag v9 in repository apps/cli-tags (its tags: v1)`,
      );
    });

    it('reports a malformed reference', async () => {
      expectCliFailure(
        await cli([`${registry.host}/Apps/Demo`]),
        ImageReason.InvalidSpec,
        `"${registry.host}/Apps/Demo" is not a valid image reference: repository paths must be lowercase; write "apps/demo"`,
      );
    });

    it('reports connection refused', async () => {
      const port = await freePort();
      expectCliFailure(
        await cli([`127.0.0.1:${port}/apps/demo`]),
        ImageReason.RegistryUnavailable,
        `cannot connect to registry 127.0.0.1:${port}: connection refused`,
      );
    });

    it('exits 2 on a usage error', async () => {
      const result = await cli([]);
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: 'UsageError: resolve needs an image reference (see image-controller resolve --help)\n',
      });
    });
  });
});

describe('a TLS registry with a private CA', () => {
  let registry: Registry;
  let reference: string;

  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    reference = `${registry.host}/apps/tls:1`;
    await pushNewImage(reference, { certDir: registry.certDir, multiArch: true, all: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('resolves with the CA (--ca-file)', async () => {
    const expected = await skopeoDigest(reference, { certDir: registry.certDir });
    const result = await cli([reference, '--ca-file', registry.caFile!]);
    expect(result).toEqual({ code: 0, stdout: `${registry.host}/apps/tls@${expected}\n`, stderr: '' });
    expect((await resolve(reference, { caPem: registry.caPem })).digest).toBe(expected);
  });

  it('refuses the certificate without the CA, and says how to fix it', async () => {
    expectCliFailure(
      await cli([reference]),
      ImageReason.RegistryUnavailable,
      `the TLS certificate of registry ${registry.host} is not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE); ` +
        "give the registry's CA (spec.caSecretRef, or --ca-file)",
    );
  });
});

describe('a registry with htpasswd basic auth', () => {
  const username = 'alice';
  const password = 'correct horse';
  let registry: Registry;
  let reference: string;

  async function dockerConfig(name: string, auths: Record<string, object>): Promise<string> {
    const path = join(work, name);
    await writeFile(path, JSON.stringify({ auths }));
    return path;
  }
  const auth = (user: string, secret: string) => ({ auth: Buffer.from(`${user}:${secret}`).toString('base64') });

  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username, password } });
    reference = `${registry.host}/apps/basic:1`;
    await pushNewImage(reference, { creds: registry.creds });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('resolves with credentials from a docker config', async () => {
    const config = await dockerConfig('basic-good.json', { [`https://${registry.host}`]: auth(username, password) });
    const expected = await skopeoDigest(reference, { creds: registry.creds });
    expect(await cli([reference, '--docker-config', config])).toEqual({
      code: 0,
      stdout: `${registry.host}/apps/basic@${expected}\n`,
      stderr: '',
    });
  });

  it('reports refused credentials, naming where they came from', async () => {
    const config = await dockerConfig('basic-wrong.json', { [registry.host]: auth(username, 'wrong') });
    expectCliFailure(
      await cli([reference, '--docker-config', config]),
      ImageReason.Unauthorized,
      `registry ${registry.host} refused the credentials from docker config "${config}"`,
    );
  });

  it('reports a docker config without an entry for the registry', async () => {
    const config = await dockerConfig('basic-other.json', { 'other.example.com': auth(username, password) });
    expectCliFailure(
      await cli([reference, '--docker-config', config]),
      ImageReason.Unauthorized,
      `registry ${registry.host} requires credentials for apps/basic:1 and docker config "${config}" has no entry for ${registry.host}`,
    );
  });
});

describe('a registry with token auth', () => {
  let registry: Registry;
  let reference: string;

  beforeAll(async () => {
    registry = await startRegistry({ tokenAuth: true });
    reference = `${registry.host}/apps/token:1`;
    await pushNewImage(reference, { creds: registry.creds, multiArch: true, all: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('exchanges the credentials for a token once, then reuses it', async () => {
    const requests: RequestEvent[] = [];
    const client = new RegistryClient({ onRequest: (event) => requests.push(event) });
    const credentials = { username: registry.username, password: registry.password };
    try {
      const first = await client.resolveDigest(parseImageReference(reference), { credentials });
      expect(first.digest).toBe(await skopeoDigest(reference, { creds: registry.creds }));
      expect(first.mediaType).toBe(MediaType.OciIndex);
      const registryRequests = requests.filter((r) => r.hop === 'registry').map((r) => r.status);
      const tokenRequests = requests.filter((r) => r.hop === 'realm').map((r) => r.status);
      expect({ registryRequests, tokenRequests }).toEqual({ registryRequests: ['error', 401, 200], tokenRequests: [200] });

      requests.length = 0;
      const second = await client.resolveDigest(parseImageReference(reference), { credentials });
      expect(second.digest).toBe(first.digest);
      expect(requests.map((r) => [r.host, r.hop, r.method, r.status])).toEqual([[registry.host, 'registry', 'HEAD', 200]]);
    } finally {
      await client.close();
    }
  });

  it('reports credentials the token service refuses', async () => {
    const error = await failure(
      resolve(reference, { credentials: { username: 'token-user', password: 'wrong' }, credentialSource: 'pull secret "regcred"' }),
    );
    expect({ reason: error.reason, message: error.message }).toEqual({
      reason: ImageReason.Unauthorized,
      message: `registry ${registry.host} refused the credentials from pull secret "regcred"`,
    });
  });

  it('reports an anonymous request the registry refuses', async () => {
    const error = await failure(resolve(reference));
    expect({ reason: error.reason, message: error.message }).toEqual({
      reason: ImageReason.Unauthorized,
      message: `registry ${registry.host} requires credentials for apps/token:1 and none were given`,
    });
  });
});
