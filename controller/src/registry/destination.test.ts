// The connect-time address policy. Nothing here may leave loopback: stand-in registries listen on
// 127.0.0.x, and where a test needs an address it cannot bind (169.254.169.254 in its many spellings)
// the client's socket opener is a recorder that refuses to connect anything but the stand-ins, so a
// policy that failed would show up as a recorded attempt, never as a packet.
import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { createServer, type RequestListener, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { createLogger } from '../log.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { classifyAddress, embeddedIPv4, isForbiddenAddress, isMetadataHost, type AddressLookup } from './destination.js';
import { parseImageReference } from './reference.js';
import type { ResolveOptions } from './session.js';

const log = createLogger({ write: () => undefined });
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An HTTP server on `address`; `connections()` counts the TCP connections it accepted. */
async function serve(address: string, handler: RequestListener) {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

async function resolveWith(reference: string, clientOptions: RegistryClientOptions, options: ResolveOptions = {}) {
  const client = new RegistryClient({ log, ...clientOptions });
  try {
    return await client.resolveDigest(parseImageReference(reference), options);
  } finally {
    await client.close();
  }
}

/** Treats `addresses` as forbidden, as if they were metadata addresses; the rest as usual. */
const forbidding = (addresses: readonly string[]) => (address: string) =>
  addresses.includes(address) ? ('forbidden' as const) : classifyAddress(address);

describe('forbidden destinations, over loopback sockets', () => {
  it('refuses a redirect to a forbidden address without connecting to it', async () => {
    const target = await serve('127.0.0.2', (_, res) => res.end());
    const registry = await serve('127.0.0.3', (_, res) => {
      res.writeHead(307, { location: `http://127.0.0.2:${target.port}/v2/apps/demo/manifests/latest` }).end();
    });

    const failure = resolveWith(`127.0.0.3:${registry.port}/apps/demo`, { classifyAddress: forbidding(['127.0.0.2']) }, { insecure: true });

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringContaining('127.0.0.2') });
    expect(target.connections()).toBe(0);
  });

  it('refuses a token realm whose name resolves to a forbidden address, checked after DNS', async () => {
    const tokenService = await serve('127.0.0.1', (_, res) => res.end('{"token":"t"}'));
    const registry = await serve('127.0.0.3', (_, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://localhost:${tokenService.port}/token",service="registry"` }).end();
    });

    const failure = resolveWith(`127.0.0.3:${registry.port}/apps/demo`, { classifyAddress: forbidding(['127.0.0.1', '::1']) });

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringMatching(/localhost is at (127\.0\.0\.1|::1)/) });
    expect(tokenService.connections()).toBe(0);
  });

  it('refuses a registry at a forbidden IP literal', async () => {
    const registry = await serve('127.0.0.2', (_, res) => res.end());

    await expect(resolveWith(`127.0.0.2:${registry.port}/apps/demo`, { classifyAddress: forbidding(['127.0.0.2']) })).rejects.toMatchObject({
      reason: ImageReason.RegistryNotAllowed,
    });
    expect(registry.connections()).toBe(0);
  });
});

/**
 * A "remote" registry: named `registry.test`, served on 127.0.0.3, which this policy treats as an
 * ordinary address, so the rest of loopback plays the Pod's own sidecars.
 */
async function remoteRegistry(handler: RequestListener) {
  const registry = await serve('127.0.0.3', handler);
  const lookup: AddressLookup = (hostname, options, callback) => {
    if (hostname === 'localhost') return systemLookup(hostname, options, callback);
    const answer = hostname === 'registry.test' ? '127.0.0.3' : hostname === 'rebind.test' ? '::ffff:169.254.169.254' : undefined;
    if (answer === undefined) return callback(Object.assign(new Error(`no test name ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    const family = isIP(answer);
    if (options.all) return callback(null, [{ address: answer, family }] as LookupAddress[]);
    callback(null, answer, family);
  };
  const classify = (address: string) => (address === '127.0.0.3' ? ('other' as const) : classifyAddress(address));
  return { registry, clientOptions: { lookup, classifyAddress: classify, buildConnector: recordingConnector(['127.0.0.3']) } };
}

/** Connection attempts that got past the policy to anything but the stand-ins; never connected. */
const attempts: string[] = [];
afterEach(() => void attempts.splice(0));

/** Opens sockets only to `standIns`; records and refuses every other attempt, resolving names as Node would. */
function recordingConnector(standIns: readonly string[]): typeof buildConnector {
  return ((options: buildConnector.BuildOptions) => {
    const real = buildConnector(options);
    return (connectOptions: buildConnector.Options, callback: buildConnector.Callback) => {
      const refuse = (address: string) => {
        attempts.push(address);
        callback(Object.assign(new Error(`the test refused to connect to ${address}`), { code: 'ECONNREFUSED' }), null);
      };
      const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host)) return standIns.includes(host) ? real(connectOptions, callback) : refuse(host);
      // A name: what the (guarded) lookup answers is what the socket would connect to.
      const lookup = (options as { lookup: AddressLookup }).lookup;
      lookup(host, { all: true }, (error, addresses) => {
        if (error) return callback(error, null);
        const first = (addresses as LookupAddress[])[0]!.address;
        return standIns.includes(first) ? real(connectOptions, callback) : refuse(first);
      });
    };
  }) as unknown as typeof buildConnector;
}

const manifest = '/v2/apps/demo/manifests/latest';

describe('every spelling of a forbidden address is refused at connect time', () => {
  it.each([
    ['dotted quad', '169.254.169.254'],
    ['a trailing dot', '169.254.169.254.'],
    ['one decimal number', '2852039166'],
    ['hex', '0xa9fea9fe'],
    ['octal', '0251.0376.0251.0376'],
    ['a short form', '169.254.43518'],
    ['mixed bases', '0xa9.254.0251.0xfe'],
    ['IPv4-mapped IPv6', '[::ffff:169.254.169.254]'],
    ['IPv4-mapped IPv6 in hex', '[::ffff:a9fe:a9fe]'],
    ['IPv4-mapped IPv6 written out', '[0:0:0:0:0:ffff:a9fe:a9fe]'],
    ['IPv4-compatible IPv6', '[::169.254.169.254]'],
    ['SIIT IPv6', '[::ffff:0:169.254.169.254]'],
    ['NAT64 (64:ff9b::/96)', '[64:ff9b::169.254.169.254]'],
    ['local-use NAT64 (64:ff9b:1::/48)', '[64:ff9b:1::a9fe:a9fe]'],
    ['6to4', '[2002:a9fe:a9fe::1]'],
    ['IPv6 link-local', '[fe80::1]'],
    ["AWS's IPv6 metadata address", '[fd00:ec2::254]'],
    ["Alibaba's metadata address", '100.100.100.200'],
    ['a metadata name', 'metadata.google.internal'],
    ['a name that resolves to a mapped address', 'rebind.test'],
  ])('a redirect to %s (%s)', async (_name, host) => {
    const { registry, clientOptions } = await remoteRegistry((_, res) => res.writeHead(307, { location: `https://${host}${manifest}` }).end());

    const failure = resolveWith(`registry.test:${registry.port}/apps/demo`, clientOptions, { insecure: true });

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed });
    expect(attempts).toEqual([]);
  });

  it.each(['127.0.0.1', '127.1', '0x7f000001', '0.0.0.0', '0', '[::1]', '[::]', '[::ffff:127.0.0.1]', '[64:ff9b::7f00:1]', 'localhost'])(
    "a remote registry's redirect to loopback (%s), the Pod's sidecars",
    async (host) => {
      const { registry, clientOptions } = await remoteRegistry((_, res) => res.writeHead(307, { location: `https://${host}:15000${manifest}` }).end());

      const failure = resolveWith(`registry.test:${registry.port}/apps/demo`, clientOptions, { insecure: true });

      await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringContaining('loopback') });
      expect(attempts).toEqual([]);
    },
  );

  it("a remote registry's token realm on loopback", async () => {
    const { registry, clientOptions } = await remoteRegistry((_, res) =>
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="https://[::ffff:7f00:1]:15000/token",service="s"' }).end(),
    );

    await expect(resolveWith(`registry.test:${registry.port}/apps/demo`, clientOptions, { insecure: true })).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed });
    expect(attempts).toEqual([]);
  });
});

describe('plain HTTP and --allowed-registries on every hop', () => {
  it("a loopback registry's redirect to another loopback port over plain HTTP needs insecure", async () => {
    const sidecar = await serve('127.0.0.1', (_, res) => res.end('admin'));
    const registry = await serve('127.0.0.1', (_, res) => res.writeHead(302, { location: `http://127.0.0.1:${sidecar.port}/` }).end());

    const failure = resolveWith(`127.0.0.1:${registry.port}/apps/demo`, {});

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.InsecureNotAllowed, message: expect.stringContaining('redirected over plain HTTP') });
    expect(sidecar.connections()).toBe(0);
  });

  it('a token realm on another host needs HTTPS unless the Image is insecure', async () => {
    const registry = await serve('127.0.0.1', (_, res) => res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://tokens.test/token"' }).end());
    const lookups: string[] = [];
    const lookup: AddressLookup = (hostname, options, callback) => (lookups.push(hostname), systemLookup(hostname, options, callback));

    const failure = resolveWith(`127.0.0.1:${registry.port}/apps/demo`, { lookup });

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.InsecureNotAllowed, message: expect.stringContaining('sent for a token over plain HTTP at tokens.test') });
    expect(lookups).toEqual([]);
  });

  it('refuses redirects and token realms outside --allowed-registries, before connecting', async () => {
    const elsewhere = await serve('127.0.0.2', (_, res) => res.end('{"token":"t"}'));
    for (const answer of [
      { status: 307, headers: { location: `http://127.0.0.2:${elsewhere.port}${manifest}` } },
      { status: 401, headers: { 'www-authenticate': `Bearer realm="http://127.0.0.2:${elsewhere.port}/token"` } },
    ]) {
      const registry = await serve('127.0.0.1', (_, res) => res.writeHead(answer.status, answer.headers).end());

      const failure = resolveWith(`127.0.0.1:${registry.port}/apps/demo`, { allowedRegistries: [`127.0.0.1:${registry.port}`] }, { insecure: true });

      await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringContaining('--allowed-registries') });
    }
    expect(elsewhere.connections()).toBe(0);
  });
});

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'forbidden'],
    ['169.254.0.1', 'forbidden'],
    ['fe80::1', 'forbidden'],
    ['FE80::1%eth0', 'forbidden'],
    ['febf::1', 'forbidden'],
    ['fec0::1', 'other'],
    ['::ffff:169.254.169.254', 'forbidden'],
    ['::ffff:a9fe:a9fe', 'forbidden'],
    ['[::ffff:a9fe:a9fe]', 'forbidden'],
    ['::a9fe:a9fe', 'forbidden'],
    ['::ffff:0:a9fe:a9fe', 'forbidden'],
    ['64:ff9b::a9fe:a9fe', 'forbidden'],
    ['64:ff9b:1:0:0:0:a9fe:a9fe', 'forbidden'],
    ['2002:a9fe:a9fe::', 'forbidden'],
    ['2001:0:a9fe:a9fe::1', 'forbidden'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'forbidden'], // Teredo client 169.254.169.254, bits inverted
    ['100.100.100.200', 'forbidden'],
    ['168.63.129.16', 'forbidden'],
    ['fd00:ec2::254', 'forbidden'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['10.0.0.1', 'other'],
    ['2001:db8::1', 'other'],
    ['::ffff:10.0.0.1', 'other'],
    ['registry.example.com', 'other'],
  ])('%s is %s', (address, expected) => expect(classifyAddress(address)).toBe(expected));

  it('finds the IPv4 address in each IPv6 transition form', () => {
    expect(embeddedIPv4('::ffff:1.2.3.4')).toEqual(['1.2.3.4']);
    expect(embeddedIPv4('64:ff9b::102:304')).toEqual(['1.2.3.4']);
    expect(embeddedIPv4('2002:102:304::1')).toEqual(['1.2.3.4']);
    expect(embeddedIPv4('2001:db8::1')).toEqual([]);
    expect(isForbiddenAddress('::ffff:169.254.1.1')).toBe(true);
  });

  it.each([
    ['metadata.google.internal', true],
    ['METADATA.google.internal.', true],
    ['metadata', true],
    ['registry.example.test', false],
  ])('host %s is a metadata name: %s', (host, metadata) => expect(isMetadataHost(host)).toBe(metadata));
});
