/**
 * Tag listing and the tag policy against the real registry (Debian's docker-registry): a repository of
 * more than 2,500 tags is listed whole (in one page: see below), and the newest tag in a semver range
 * resolves to the digest skopeo sees. One image is pushed with skopeo; its manifest is then put under
 * each further tag with the registry's own manifest PUT, as `crane tag` does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageReason } from '../../controller/src/api/image.js';
import { systemClock } from '../../controller/src/clock.js';
import { createLogger } from '../../controller/src/log.js';
import { createImageResolver, parseDuration } from '../../controller/src/reconcile/index.js';
import { parseSpec } from '../../controller/src/reconcile/image-record.js';
import { DEFAULT_MAX_TAGS, pagesFor, parseImageReference, RegistryClient, TAG_PAGE_SIZE, type RequestEvent } from '../../controller/src/registry/index.js';
import { makeImage } from '../../controller/src/testing/images.js';
import { pushImage, skopeoDigest, writeImageLayout } from '../support/oci.js';
import { startRegistry, type Registry } from '../support/registry.js';

const RELEASES = 2_600;
const log = createLogger({ write: () => undefined });
let work: string;
let registry: Registry;
let digest: string;

/** Puts the manifest `apps/many:seed` has under each of `tags`, a few at a time. */
async function tagAll(tags: string[]): Promise<void> {
  const base = `http://${registry.host}/v2/apps/many/manifests`;
  const accept = 'application/vnd.oci.image.manifest.v1+json';
  const got = await request(`${base}/seed`, { headers: { accept } });
  const manifest = Buffer.from(await got.body.arrayBuffer());
  const contentType = String(got.headers['content-type']);
  const queue = [...tags];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
        const put = await request(`${base}/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': contentType } });
        await put.body.dump();
        if (put.statusCode !== 201) throw new Error(`PUT ${tag}: HTTP ${put.statusCode}`);
      }
    }),
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tag-list-'));
  registry = await startRegistry();
  const layout = await writeImageLayout(join(work, 'layout'));
  await pushImage(layout, `${registry.host}/apps/many:seed`);
  digest = await skopeoDigest(`${registry.host}/apps/many:seed`);
  const releases = Array.from({ length: RELEASES }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);
  await tagAll([...releases, '2.0.0', 'latest', `sha256-${digest.slice(7)}.sig`]);
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('listing a real registry', () => {
  // Debian's docker-registry (distribution 2.8.2) ignores `n` and sends every tag in one page with no
  // Link (distribution pages tag lists from 3.0): whole as it is, the listing must be complete and read
  // in as many GETs as pages. Link following, short pages and the bounds are tested against stand-ins in
  // controller/src/registry/tag-list.test.ts.
  it(`lists more than 2,500 tags, asking for ${TAG_PAGE_SIZE} a page and following any Link`, async () => {
    const requests: RequestEvent[] = [];
    const client = new RegistryClient({ log, onRequest: (event) => requests.push(event) });
    try {
      const listing = await client.listTags(parseImageReference(`${registry.host}/apps/many`), {}, { maxTags: DEFAULT_MAX_TAGS, maxPages: pagesFor(DEFAULT_MAX_TAGS), maxPageBytes: 1024 * 1024 });
      expect(listing.truncated).toBeUndefined();
      expect(listing.tags).toHaveLength(RELEASES + 4);
      expect(new Set(listing.tags).size).toBe(listing.tags.length);
      expect(listing.tags).toEqual(expect.arrayContaining(['1.0.0', '1.25.99', '2.0.0', 'latest', 'seed']));
      expect([1, Math.ceil((RELEASES + 4) / TAG_PAGE_SIZE)]).toContain(listing.pages);
      // Plain HTTP on loopback: one HTTPS attempt that found HTTP, then one GET per page.
      expect(requests.filter((event) => event.status === 200)).toHaveLength(listing.pages);
    } finally {
      await client.close();
    }
  });

  it('says the listing is truncated at the tag bound, never passing it off as whole', async () => {
    const client = new RegistryClient({ log });
    try {
      const listing = await client.listTags(parseImageReference(`${registry.host}/apps/many`), {}, { maxTags: 1_500, maxPages: pagesFor(1_500), maxPageBytes: 1024 * 1024 });
      expect(listing.tags).toHaveLength(1_500);
      expect(listing.truncated).toContain('more than 1500 tags');
    } finally {
      await client.close();
    }
  });

  it('reports a repository the registry does not have', async () => {
    const client = new RegistryClient({ log });
    try {
      await expect(client.listTags(parseImageReference(`${registry.host}/apps/none`), {}, { maxTags: 10, maxPages: 10, maxPageBytes: 1024 })).rejects.toMatchObject({
        reason: ImageReason.NotFound,
        message: expect.stringContaining('has no repository apps/none'),
      });
    } finally {
      await client.close();
    }
  });

  it("chooses the newest tag in a semver range and resolves it to skopeo's digest", async () => {
    const client = new RegistryClient({ log });
    try {
      const resolve = createImageResolver({ registry: client, access: async () => ({}), endpointFor: async () => undefined, clock: systemClock });
      const image = makeImage('many', { image: `${registry.host}/apps/many`, policy: { semver: { range: '>=1.0.0 <2' } } });
      const spec = parseSpec(image, parseDuration('10s')!);
      if (!spec.valid) throw new Error(spec.invalid);
      await expect(resolve(image, spec, Date.now())).resolves.toEqual({
        tag: '1.25.99',
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        latestImage: `${registry.host}/apps/many@${digest}`,
      });
    } finally {
      await client.close();
    }
  });
});
