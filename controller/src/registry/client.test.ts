import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { createLogger } from '../log.js';
import { RegistryClient } from './client.js';
import { MediaType } from './manifest.js';
import { parseImageReference } from './reference.js';

// The rest of the client is tested against a real registry in test/integration/resolve.test.ts.
// What a hostile registry can make the client hold and how long it can hold a check, against loopback
// stand-ins for the cases no real registry produces.
describe('bounds a registry cannot push', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  async function serve(handler: RequestListener): Promise<number> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return (server.address() as AddressInfo).port;
  }
  const log = createLogger({ write: () => undefined });

  it('keeps at most 64 connection pools when every check is redirected to a new port', async () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    const registry = await serve(async (req, res) => {
      const target = await serve((_, answer) => answer.writeHead(200, { 'docker-content-digest': digest, 'content-type': MediaType.OciManifest }).end());
      res.writeHead(307, { location: `http://127.0.0.1:${target}${req.url}` }).end();
    });
    const client = new RegistryClient({ log });
    try {
      for (let check = 0; check < 100; check++) {
        await expect(client.resolveDigest(parseImageReference(`127.0.0.1:${registry}/apps/demo`), { insecure: true })).resolves.toMatchObject({ digest });
      }
      expect(client.pools).toBe(64);
    } finally {
      await client.close();
    }
  });

  it('gives a whole check one deadline, however many requests it makes', async () => {
    // Each answer takes 1 s, well within the request deadline: 401, the token, then the manifest.
    const slowly = (answer: () => void) => void setTimeout(answer, 1_000);
    let port = 0;
    port = await serve((req, res) => {
      if (req.url?.startsWith('/token')) slowly(() => res.end('{"token":"t"}'));
      else if (!req.headers.authorization) slowly(() => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token"` }).end());
      else slowly(() => res.writeHead(200, { 'docker-content-digest': `sha256:${'0'.repeat(64)}`, 'content-type': MediaType.OciManifest }).end());
    });
    const client = new RegistryClient({ log, requestTimeoutMs: 3_000, checkTimeoutMs: 2_000 });
    try {
      await expect(client.resolveDigest(parseImageReference(`127.0.0.1:${port}/apps/demo`))).rejects.toMatchObject({
        reason: ImageReason.RegistryUnavailable,
        message: expect.stringContaining('within 2s, the deadline of a whole check'),
      });
    } finally {
      await client.close();
    }
  });
});
