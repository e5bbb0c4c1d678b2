// Where signatures are looked for and what bounds hold, with a repository held in a map: the cases a
// real registry serves only when made hostile (test/integration/signatures.test.ts makes them in one).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { RegistryError, type Fetched, type RepositoryReader } from '../registry/index.js';
import { DIGEST_A } from '../testing/images.js';
import { makeKeyPair, signPayload, simpleSigningPayload } from '../testing/signing.js';
import { SIGNATURE_ANNOTATION, SignatureLimits, SIMPLE_SIGNING_MEDIA_TYPE } from './cosign.js';
import { referrerSignatures, tagSchemeSignatures } from './locate.js';

const digestOf = (body: Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const HEX = DIGEST_A.slice('sha256:'.length);

/** A repository: path → body; every GET is recorded. */
function repository(entries: Record<string, Buffer | Error>): RepositoryReader & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async get(path: string, _accept: string, maxBytes: number): Promise<Fetched> {
      asked.push(path);
      const entry = entries[path];
      if (entry instanceof Error) throw entry;
      if (entry === undefined) return 'not-found';
      return entry.length > maxBytes ? 'too-large' : entry;
    },
  };
}

function signatureManifest(layers: object[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers }));
}

describe('tagSchemeSignatures', () => {
  const payload = simpleSigningPayload(DIGEST_A);
  const signature = signPayload(makeKeyPair('ecdsa-p256').privateKey, payload);
  const layer = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(payload), size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signature.toString('base64') } };

  it('reads sha256-<hex>.sig and each layer’s payload blob', async () => {
    const repo = repository({ [`manifests/sha256-${HEX}.sig`]: signatureManifest([layer]), [`blobs/${digestOf(payload)}`]: payload });
    const source = await tagSchemeSignatures(repo, DIGEST_A);
    expect(source.found).toHaveLength(1);
    expect(source.found[0]).toMatchObject({ where: `tag sha256-${HEX}.sig layer 1`, signedDigest: DIGEST_A });
    expect(repo.asked).toEqual([`manifests/sha256-${HEX}.sig`, `blobs/${digestOf(payload)}`]);
  });

  it.each<[string, Record<string, Buffer | Error>, RegExp]>([
    ['a signature manifest over the bound', { [`manifests/sha256-${HEX}.sig`]: Buffer.alloc(SignatureLimits.manifestBytes + 1, 32) }, /larger than 262144 bytes and was not read/],
    ['a payload blob that is missing', { [`manifests/sha256-${HEX}.sig`]: signatureManifest([layer]) }, /layer 1: blob sha256:\w+ is missing/],
    ['a payload blob whose bytes are not its digest', { [`manifests/sha256-${HEX}.sig`]: signatureManifest([layer]), [`blobs/${digestOf(payload)}`]: Buffer.from('{}') }, /does not match its digest/],
    ['a manifest that is not JSON', { [`manifests/sha256-${HEX}.sig`]: Buffer.from('<html>') }, /is not JSON/],
  ])('notes %s and finds nothing', async (_name, entries, note) => {
    const source = await tagSchemeSignatures(repository(entries), DIGEST_A);
    expect(source.found).toEqual([]);
    expect(source.notes.join('\n')).toMatch(note);
  });

  it('reads at most the bounded number of layers', async () => {
    const layers = Array.from({ length: SignatureLimits.signatures + 10 }, () => layer);
    const repo = repository({ [`manifests/sha256-${HEX}.sig`]: signatureManifest(layers), [`blobs/${digestOf(payload)}`]: payload });
    const source = await tagSchemeSignatures(repo, DIGEST_A);
    expect(source.found).toHaveLength(SignatureLimits.signatures);
    expect(repo.asked).toHaveLength(1 + SignatureLimits.signatures);
    expect(source.notes).toEqual([expect.stringMatching(/10 more layers beyond the 16/)]);
  });

  it('lets a registry failure through, with its reason', async () => {
    const failure = new RegistryError(ImageReason.Unauthorized, 'no');
    await expect(tagSchemeSignatures(repository({ [`manifests/sha256-${HEX}.sig`]: failure }), DIGEST_A)).rejects.toBe(failure);
  });
});

describe('referrerSignatures', () => {
  const artifactType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  const index = (count: number, type = artifactType) =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array.from({ length: count }, (_, i) => ({ artifactType: type, digest: `sha256:${String(i).padStart(64, '0')}`, size: 1 })) }));

  it('asks the referrers API first, and reads the referrers tag where the registry has none (404)', async () => {
    const repo = repository({ [`manifests/sha256-${HEX}`]: index(0) });
    const source = await referrerSignatures(repo, DIGEST_A);
    expect(repo.asked).toEqual([`referrers/${DIGEST_A}`, `manifests/sha256-${HEX}`]);
    expect(source).toMatchObject({ name: `referrers tag sha256-${HEX}`, found: [], notes: [] });
  });

  it('does not read the fallback tag when the API answers', async () => {
    const repo = repository({ [`referrers/${DIGEST_A}`]: index(0) });
    await referrerSignatures(repo, DIGEST_A);
    expect(repo.asked).toEqual([`referrers/${DIGEST_A}`]);
  });

  it('ignores referrers of other artifact types without reading them', async () => {
    const repo = repository({ [`referrers/${DIGEST_A}`]: index(50, 'application/spdx+json') });
    expect((await referrerSignatures(repo, DIGEST_A)).notes).toEqual([]);
    expect(repo.asked).toHaveLength(1);
  });

  it('tries at most the bounded number of bundles among thousands of referrers', async () => {
    const repo = repository({ [`referrers/${DIGEST_A}`]: index(2_000) });
    const source = await referrerSignatures(repo, DIGEST_A);
    expect(repo.asked).toHaveLength(1 + SignatureLimits.signatures);
    expect(source.notes[0]).toMatch(/1984 more sigstore bundles than the 16 the controller tries were left out/);
  });

  it('leaves an index over the bound unread', async () => {
    const repo = repository({ [`referrers/${DIGEST_A}`]: index(5_000) });
    const source = await referrerSignatures(repo, DIGEST_A);
    expect(repo.asked).toHaveLength(1);
    expect(source.notes).toEqual([expect.stringMatching(/index is larger than 524288 bytes and was not read/)]);
  });
});
