// The connect-time guard, over real loopback sockets. Nothing here may leave loopback, so instead of
// 169.254.169.254 the tests forbid other loopback addresses and count the connections those receive.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { createLogger } from '../log.js';
import { RegistryClient } from './client.js';
import { isForbiddenAddress, isMetadataHost } from './destination.js';
import { parseImageReference } from './reference.js';

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

async function resolveWith(forbidden: readonly string[], reference: string) {
  const client = new RegistryClient({ log, isForbiddenAddress: (address) => forbidden.includes(address) });
  try {
    return await client.resolveDigest(parseImageReference(reference));
  } finally {
    await client.close();
  }
}

describe('forbidden destinations', () => {
  it('refuses a redirect to a forbidden address without connecting to it', async () => {
    const target = await serve('127.0.0.2', (_, res) => res.end());
    const registry = await serve('127.0.0.3', (_, res) => {
      res.writeHead(307, { location: `http://127.0.0.2:${target.port}/v2/apps/demo/manifests/latest` }).end();
    });

    const failure = resolveWith(['127.0.0.2'], `127.0.0.3:${registry.port}/apps/demo`);

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringContaining('127.0.0.2') });
    expect(target.connections()).toBe(0);
  });

  it('refuses a token realm whose name resolves to a forbidden address, checked after DNS', async () => {
    const tokenService = await serve('127.0.0.1', (_, res) => res.end('{"token":"t"}'));
    const registry = await serve('127.0.0.3', (_, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://localhost:${tokenService.port}/token",service="registry"` }).end();
    });

    const failure = resolveWith(['127.0.0.1', '::1'], `127.0.0.3:${registry.port}/apps/demo`);

    await expect(failure).rejects.toMatchObject({ reason: ImageReason.RegistryNotAllowed, message: expect.stringMatching(/localhost is at (127\.0\.0\.1|::1)/) });
    expect(tokenService.connections()).toBe(0);
  });

  it('refuses a registry at a forbidden IP literal', async () => {
    const registry = await serve('127.0.0.2', (_, res) => res.end());

    await expect(resolveWith(['127.0.0.2'], `127.0.0.2:${registry.port}/apps/demo`)).rejects.toMatchObject({
      reason: ImageReason.RegistryNotAllowed,
    });
    expect(registry.connections()).toBe(0);
  });

  it.each([
    ['169.254.169.254', true],
    ['169.254.0.1', true],
    ['fe80::1', true],
    ['FE80::1%eth0', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['::ffff:169.254.169.254', true],
    ['100.100.100.200', true],
    ['fd00:ec2::254', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['::1', false],
  ])('address %s forbidden: %s', (address, forbidden) => expect(isForbiddenAddress(address)).toBe(forbidden));

  it.each([
    ['metadata.google.internal', true],
    ['METADATA.google.internal.', true],
    ['metadata', true],
    ['registry.example.test', false],
  ])('host %s is a metadata name: %s', (host, metadata) => expect(isMetadataHost(host)).toBe(metadata));
});
