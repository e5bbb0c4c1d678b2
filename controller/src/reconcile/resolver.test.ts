// The tag-policy pipeline of the resolver: listing shared per repository and credentials per interval,
// candidates HEADed newest first, and the two ways a policy Image fails without a registry fault. The
// registry here is a table of tags and digests; the real one is in test/integration and test/e2e.
import { describe, expect, it, vi } from 'vitest';
import { ImageReason, type ImageSpec } from '../api/image.js';
import { RegistryError, type ImageReference, type TagListBounds, type TagListing } from '../registry/index.js';
import { DIGEST_A, DIGEST_B, makeImage, OCI_INDEX } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import { parseSpec } from './image-record.js';
import { createImageResolver, MAX_CANDIDATES } from './resolver.js';

function setup(tags: Record<string, string | undefined>, options: { truncated?: string; maxTags?: number } = {}) {
  const clock = new ManualClock();
  const listTags = vi.fn(async (_ref: ImageReference, _options: unknown, bounds: TagListBounds): Promise<TagListing> => ({
    tags: Object.keys(tags).slice(0, bounds.maxTags),
    pages: 1,
    invalid: 0,
    ...(options.truncated ? { truncated: options.truncated } : {}),
  }));
  const resolveDigest = vi.fn(async (ref: ImageReference) => {
    const digest = tags[ref.tag];
    if (digest === undefined) throw new RegistryError(ImageReason.NotFound, `no tag ${ref.tag}`);
    return { digest, mediaType: OCI_INDEX, latestImage: ref.digestReference(digest) };
  });
  const truncated: string[] = [];
  const resolve = createImageResolver({
    registry: { resolveDigest, listTags },
    access: async (image) => (image.metadata.name.startsWith('other-') ? { credentials: { username: 'other', password: 'x' } } : {}),
    endpointFor: async () => undefined,
    maxTags: options.maxTags,
    onTruncatedListing: (registry) => truncated.push(registry),
    clock,
  });
  const check = (name: string, spec: Partial<ImageSpec>, notBefore = clock.now(), status?: { latestImage: string }) => {
    const image = makeImage(name, spec, status);
    const parsed = parseSpec(image, 10_000);
    if (!parsed.valid) throw new Error(parsed.invalid);
    return resolve(image, parsed, notBefore);
  };
  return { clock, listTags, resolveDigest, truncated, check };
}

const semver = (range: string): Partial<ImageSpec> => ({ policy: { semver: { range } } });

describe('resolving with a tag policy', () => {
  it('HEADs the newest tag in range and reports it', async () => {
    const { check, resolveDigest } = setup({ '1.2.0': DIGEST_A, '1.3.0': DIGEST_B, '2.0.0': DIGEST_A });
    await expect(check('demo', semver('>=1.0.0 <2'))).resolves.toEqual({
      digest: DIGEST_B,
      mediaType: OCI_INDEX,
      latestImage: `localhost:5000/apps/demo@${DIGEST_B}`,
      tag: '1.3.0',
    });
    expect(resolveDigest.mock.calls.map(([ref]) => ref.toString())).toEqual(['localhost:5000/apps/demo:1.3.0']);
  });

  it('lists once per repository and credentials per interval, however many Images and policies ask', async () => {
    const { check, listTags, clock } = setup({ '1.0.0': DIGEST_A, '2.0.0': DIGEST_B });
    const since = clock.now();
    await Promise.all([check('a', semver('>=1')), check('b', semver('<2')), check('c', { policy: { alphabetical: {} } }, since)]);
    expect(listTags).toHaveBeenCalledTimes(1);
    await check('other-creds', semver('>=1'), since);
    expect(listTags).toHaveBeenCalledTimes(2);
    await clock.advance(10_000);
    await check('a', semver('>=1'), since); // an answer started after its last check is still fresh
    expect(listTags).toHaveBeenCalledTimes(2);
    await check('a', semver('>=1'), clock.now()); // its next interval needs a new one
    expect(listTags).toHaveBeenCalledTimes(3);
  });

  it('passes to the next candidate when the newest tag is gone since the listing, within a bound', async () => {
    const { check, resolveDigest } = setup({ '1.4.0': undefined, '1.3.0': undefined, '1.2.0': DIGEST_A, '1.1.0': DIGEST_B });
    await expect(check('demo', semver('>=1'))).resolves.toMatchObject({ tag: '1.2.0', digest: DIGEST_A });
    const gone = setup({ '1.9.0': undefined, '1.8.0': undefined, '1.7.0': undefined, '1.6.0': DIGEST_A });
    await expect(gone.check('demo', semver('>=1'))).rejects.toMatchObject({ reason: ImageReason.NotFound, message: 'no tag 1.7.0' });
    expect(gone.resolveDigest).toHaveBeenCalledTimes(MAX_CANDIDATES);
    expect(resolveDigest).toHaveBeenCalledTimes(3);
  });

  it('keeps the last choice when no tag fits, saying what it saw, and comes back at the interval', async () => {
    const { check } = setup({ latest: DIGEST_A, '0.9.0': DIGEST_A, [`sha256-${'c'.repeat(64)}.sig`]: DIGEST_A });
    const failure = check('demo', semver('>=1'), undefined, { latestImage: `localhost:5000/apps/demo@${DIGEST_B}` });
    await expect(failure).rejects.toMatchObject({
      reason: ImageReason.NoMatchingTag,
      retryAfterMs: 10_000,
      message: `no tag of localhost:5000/apps/demo fits semver range >=1 (3 tags listed: 1 excluded, 2 outside semver range >=1); keeping localhost:5000/apps/demo@${DIGEST_B}`,
    });
  });

  it('never chooses from a truncated listing, and counts it once per listing', async () => {
    const { check, resolveDigest, truncated, clock } = setup({ '1.0.0': DIGEST_A }, { truncated: 'the repository has more than 1 tags' });
    const since = clock.now();
    for (const name of ['a', 'b']) {
      await expect(check(name, semver('>=1'), since)).rejects.toMatchObject({
        reason: ImageReason.TagListTruncated,
        message: expect.stringContaining('is incomplete, so no tag is chosen from it: the repository has more than 1 tags'),
      });
    }
    expect(resolveDigest).not.toHaveBeenCalled();
    expect(truncated).toEqual(['localhost:5000']);
  });

  it("caps spec.maxTags at the controller's --max-tags", async () => {
    const { check, listTags } = setup({ '1.0.0': DIGEST_A }, { maxTags: 500 });
    await check('a', { ...semver('>=1'), maxTags: 100 });
    await check('b', { ...semver('>=1'), maxTags: 100_000 });
    await check('c', semver('>=1'));
    // c's default (10,000) is capped to b's 500 too, so c shares b's listing.
    expect(listTags.mock.calls.map(([, , bounds]) => bounds.maxTags)).toEqual([100, 500]);
  });

  it('an Image without a policy lists nothing and resolves its own tag, as before', async () => {
    const { check, listTags } = setup({ latest: DIGEST_A });
    await expect(check('demo', {})).resolves.toEqual({ digest: DIGEST_A, mediaType: OCI_INDEX, latestImage: `localhost:5000/apps/demo@${DIGEST_A}` });
    expect(listTags).not.toHaveBeenCalled();
  });
});
