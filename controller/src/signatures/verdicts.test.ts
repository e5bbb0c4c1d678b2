// What a verdict costs: a verified digest is read once and then remembered (per repository, digest and
// authorities); an unverified one is read at every check, so a signature added later counts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { VerificationAuthority } from '../api/image.js';
import type { Fetched, RepositoryReader } from '../registry/index.js';
import { DIGEST_A, DIGEST_B } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import { makeKeyPair, signPayload, simpleSigningPayload } from '../testing/signing.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './cosign.js';
import { loadAuthority } from './trust.js';
import { SignatureVerifier, type OpenRepository } from './verdicts.js';

const release = makeKeyPair('ecdsa-p256');
const spec: VerificationAuthority = { name: 'release', key: { secretRef: { name: 'cosign-pub' } } };
const authority = (publicPem = release.publicPem) => loadAuthority(spec, [], { 'cosign.pub': Buffer.from(publicPem).toString('base64') });

/** A repository where `signed` digests carry a tag-scheme signature by the release key; counts each check that reads it. */
function repository(signed: string[]) {
  const entries = new Map<string, Buffer>();
  for (const digest of signed) {
    const payload = simpleSigningPayload(digest);
    const payloadDigest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
    const layer = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: payloadDigest, size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signPayload(release.privateKey, payload).toString('base64') } };
    entries.set(`manifests/${digest.replace(':', '-')}.sig`, Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [layer] })));
    entries.set(`blobs/${payloadDigest}`, payload);
  }
  const reader: RepositoryReader = { get: async (path): Promise<Fetched> => entries.get(path) ?? 'not-found' };
  const counts = { opened: 0 };
  const open: OpenRepository = (work) => (counts.opened++, work(reader));
  return { open, counts };
}

describe('SignatureVerifier', () => {
  it('reads a verified digest once, then answers from memory', async () => {
    const verifier = new SignatureVerifier({ clock: new ManualClock() });
    const { open, counts } = repository([DIGEST_A]);
    for (let check = 0; check < 5; check++) expect((await verifier.verify(open, 'r/apps/demo', DIGEST_A, [authority()])).verified).toBe(true);
    expect(counts.opened).toBe(1);
  });

  it('reads an unverified digest at every check, and remembers it once it is signed', async () => {
    const verifier = new SignatureVerifier({ clock: new ManualClock() });
    const unsigned = repository([]);
    for (let check = 0; check < 3; check++) expect((await verifier.verify(unsigned.open, 'r/apps/demo', DIGEST_B, [authority()])).verified).toBe(false);
    expect(unsigned.counts.opened).toBe(3);
    const signed = repository([DIGEST_B]);
    await verifier.verify(signed.open, 'r/apps/demo', DIGEST_B, [authority()]);
    await verifier.verify(signed.open, 'r/apps/demo', DIGEST_B, [authority()]);
    expect(signed.counts.opened).toBe(1);
  });

  it('keys verdicts by repository and authorities: another key, or another repository, is read anew', async () => {
    const verifier = new SignatureVerifier({ clock: new ManualClock() });
    const { open, counts } = repository([DIGEST_A]);
    await verifier.verify(open, 'r/apps/demo', DIGEST_A, [authority()]);
    expect((await verifier.verify(open, 'r/apps/demo', DIGEST_A, [authority(makeKeyPair('ecdsa-p256').publicPem)])).verified).toBe(false);
    await verifier.verify(open, 'r/apps/other', DIGEST_A, [authority()]);
    expect(counts.opened).toBe(3);
  });

  it('reads a verified digest again once the verdict is older than its age limit', async () => {
    const clock = new ManualClock();
    const verifier = new SignatureVerifier({ clock, maxAgeMs: 60_000 });
    const { open, counts } = repository([DIGEST_A]);
    await verifier.verify(open, 'r/apps/demo', DIGEST_A, [authority()]);
    await clock.advance(61_000);
    await verifier.verify(open, 'r/apps/demo', DIGEST_A, [authority()]);
    expect(counts.opened).toBe(2);
  });
});
