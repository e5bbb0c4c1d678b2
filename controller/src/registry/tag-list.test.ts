// Tag listing's Link following and bounds, against loopback stand-ins for what no real registry sends on
// demand (Quay's bare links, loops, links elsewhere, huge pages). The real docker-registry's paging is
// tested in test/integration/tag-list.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { createLogger } from '../log.js';
import { RegistryClient } from './client.js';
import { parseImageReference } from './reference.js';
import { nextLink, pagesFor, type TagListBounds } from './tag-list.js';

describe('nextLink', () => {
  const page = new URL('https://registry.test/v2/apps/demo/tags/list?n=1000');
  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['</v2/apps/demo/tags/list?n=1000&last=b>; rel="next"', 'https://registry.test/v2/apps/demo/tags/list?n=1000&last=b'],
    ['<https://registry.test/v2/apps/demo/tags/list?last=b&n=1000>; rel=next', 'https://registry.test/v2/apps/demo/tags/list?last=b&n=1000'],
    // Quay: no angle brackets, an opaque token.
    ['/v2/apps/demo/tags/list?n=100&next_page=gAAAAABk_x-y; rel="next"', 'https://registry.test/v2/apps/demo/tags/list?n=100&next_page=gAAAAABk_x-y'],
    ['tags/list?page=2; rel="next"', 'https://registry.test/v2/apps/demo/tags/tags/list?page=2'],
    ['</first>; rel="first", </v2/apps/demo/tags/list?page=3>; rel="next"', 'https://registry.test/v2/apps/demo/tags/list?page=3'],
    ['</v2/x?a=1,2>; rel="prev next"', 'https://registry.test/v2/x?a=1,2'],
    ['</v2/apps/demo/tags/list?page=2>; rel="prev"', undefined],
    ['<http://[bad>; rel="next"', undefined],
    ['garbage', undefined],
  ])('%s → %s', (header, expected) => {
    expect(nextLink(header, page)?.href).toBe(expected);
  });

  it('reads a 16 KiB header of unclosed angle brackets in linear time', () => {
    expect(nextLink('<'.repeat(16 * 1024), page)).toBeUndefined();
  });
});

describe('listing tags against stand-ins', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });
  async function serve(handler: (req: IncomingMessage, res: ServerResponse, port: number) => void): Promise<number> {
    let port = 0;
    const server = createServer((req, res) => handler(req, res, port));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    port = (server.address() as AddressInfo).port;
    return port;
  }
  const log = createLogger({ write: () => undefined });
  const bounds: TagListBounds = { maxTags: 10_000, maxPages: pagesFor(10_000), maxPageBytes: 1024 * 1024 };
  async function list(port: number, limits = bounds) {
    const client = new RegistryClient({ log });
    try {
      return await client.listTags(parseImageReference(`127.0.0.1:${port}/apps/demo`), {}, limits);
    } finally {
      await client.close();
    }
  }
  /** Pages of `size` tags named `t<i>`, linked with `link(page)`; `requests` counts what was asked. */
  function paged(total: number, size: number, link: (page: number, port: number) => string | undefined) {
    const requests: string[] = [];
    const handler = (req: IncomingMessage, res: ServerResponse, port: number) => {
      requests.push(req.url!);
      const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '0');
      const tags = Array.from({ length: Math.max(0, Math.min(size, total - page * size)) }, (_, i) => `t${page * size + i}`);
      const next = (page + 1) * size < total ? link(page + 1, port) : undefined;
      res.writeHead(200, { 'content-type': 'application/json', ...(next ? { link: next } : {}) }).end(JSON.stringify({ name: 'apps/demo', tags }));
    };
    return { requests, handler };
  }

  it('follows relative, absolute and bracketless links across short pages, asking for 1,000 a page', async () => {
    const links = [(p: number) => `</v2/apps/demo/tags/list?page=${p}>; rel="next"`, (p: number, port: number) => `<http://127.0.0.1:${port}/v2/apps/demo/tags/list?page=${p}>; rel="next"`, (p: number) => `/v2/apps/demo/tags/list?page=${p}; rel="next"`];
    for (const link of links) {
      const registry = paged(250, 100, link);
      const listing = await list(await serve(registry.handler));
      expect(listing).toMatchObject({ pages: 3, invalid: 0 });
      expect(listing.truncated).toBeUndefined();
      expect(listing.tags).toHaveLength(250);
      expect(listing.tags.at(-1)).toBe('t249');
      expect(registry.requests[0]).toBe('/v2/apps/demo/tags/list?n=1000');
    }
  });

  it('stops at the tag bound and says the listing is truncated', async () => {
    const registry = paged(1_000_000, 1000, (p) => `</v2/apps/demo/tags/list?page=${p}>; rel="next"`);
    const listing = await list(await serve(registry.handler), { ...bounds, maxTags: 2_500, maxPages: pagesFor(2_500) });
    expect(listing.tags).toHaveLength(2_500);
    expect(listing.truncated).toContain('more than 2500 tags');
    expect(registry.requests).toHaveLength(3);
  });

  it('stops at the page bound', async () => {
    const registry = paged(1_000_000, 1, (p) => `</v2/apps/demo/tags/list?page=${p}>; rel="next"`);
    const listing = await list(await serve(registry.handler));
    expect(listing.pages).toBe(pagesFor(10_000));
    expect(listing.truncated).toContain(`more than ${pagesFor(10_000)} pages`);
  });

  it('does not follow a Link loop', async () => {
    const registry = paged(10_000, 10, () => '</v2/apps/demo/tags/list?n=1000>; rel="next"');
    const listing = await list(await serve(registry.handler));
    expect(listing.truncated).toContain('a Link loop');
    expect(registry.requests).toHaveLength(1);
  });

  it('does not follow a Link to another port, host or scheme', async () => {
    const elsewhere = paged(10, 10, () => undefined);
    const other = await serve(elsewhere.handler);
    for (const target of [`http://127.0.0.1:${other}/v2/apps/demo/tags/list`, 'http://registry.test/v2/apps/demo/tags/list', 'https://127.0.0.1:1/x']) {
      const registry = paged(20, 10, () => `<${target}>; rel="next"`);
      const listing = await list(await serve(registry.handler));
      expect(listing.truncated).toContain('not on the registry itself');
      expect(listing.tags).toHaveLength(10);
    }
    expect(elsewhere.requests).toEqual([]);
  });

  it('reads a page only up to the byte bound', async () => {
    let sent = 0;
    const port = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tags":[');
      const chunk = `"${'a'.repeat(100)}",`.repeat(10_000);
      const more = () => {
        // Stops when the client hangs up; at most 100 MiB.
        while (sent < 100 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 100 * 1024 * 1024 && !res.destroyed) res.once('drain', more);
        else res.end(']}');
      };
      res.on('close', () => (sent = Infinity));
      more();
    });
    const listing = await list(port);
    expect(listing.truncated).toContain('larger than 1048576 bytes');
    expect(listing.tags).toEqual([]);
  });

  it('leaves out entries that are not tags, and counts them', async () => {
    const port = await serve((_, res) => res.end(JSON.stringify({ tags: ['1.0.0', 'x'.repeat(10_000), 42, '-bad', 'ok_tag'] })));
    expect(await list(port)).toEqual({ tags: ['1.0.0', 'ok_tag'], pages: 1, invalid: 3 });
  });

  it('fails with the reason when the repository does not exist or the page is not a tag list', async () => {
    const missing = await serve((_, res) => res.writeHead(404).end('{"errors":[{"code":"NAME_UNKNOWN"}]}'));
    await expect(list(missing)).rejects.toMatchObject({ reason: ImageReason.NotFound, message: expect.stringContaining('has no repository apps/demo') });
    const garbage = await serve((_, res) => res.end('<html>'));
    await expect(list(garbage)).rejects.toMatchObject({ reason: ImageReason.RegistryUnavailable, message: expect.stringContaining('not a tag list') });
  });
});
