import { describe, expect, it } from 'vitest';
import { ImageReason, type Image, type ImageSpec, type ImageStatus } from '../api/image.js';
import { RegistryError } from '../registry/index.js';
import { TrustError, type Verdict } from '../signatures/index.js';
import { DIGEST_A, DIGEST_B, makeImage, OCI_INDEX } from '../testing/images.js';
import { parseSpec } from './image-record.js';
import { reconcile, type Resolution } from './reconcile.js';

const NOW = new Date('2025-01-01T00:00:00.000Z');
const resolution = (digest: string): Resolution => ({ digest, mediaType: OCI_INDEX, latestImage: `localhost:5000/apps/demo@${digest}` });
const resolvedStatus: ImageStatus = {
  latestImage: `localhost:5000/apps/demo@${DIGEST_A}`,
  complete: true,
  digest: DIGEST_A,
  mediaType: OCI_INDEX,
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True', reason: ImageReason.DigestResolved, message: `localhost:5000/apps/demo:latest resolved to ${DIGEST_A}`, lastTransitionTime: NOW.toISOString(), observedGeneration: 1 }],
};
const check = (image: Image, answer: () => Promise<Resolution>, verify: (digest: string) => Promise<Verdict> = () => Promise.reject(new Error('must not be called'))) =>
  reconcile(image, parseSpec(image, 10_000), { resolve: answer, verify: (_image, _reference, digest) => verify(digest) }, NOW);

describe('reconcile decisions', () => {
  it.each<{ name: string; spec?: Partial<ImageSpec>; status?: ImageStatus; answer: () => Promise<Resolution>; expected: Record<string, unknown> }>([
    {
      name: 'first digest: patch, Normal event, next check at the default interval',
      answer: async () => resolution(DIGEST_A),
      expected: { reason: ImageReason.DigestResolved, digestChanged: true, end: { kind: 'resolved' }, events: [expect.objectContaining({ type: 'Normal', reason: 'DigestResolved' })] },
    },
    {
      name: 'same digest: no patch, no event',
      status: resolvedStatus,
      answer: async () => resolution(DIGEST_A),
      expected: { statusPatch: undefined, events: [], digestChanged: false, end: { kind: 'resolved' } },
    },
    {
      name: 'new digest: event names the old and new digests',
      status: resolvedStatus,
      answer: async () => resolution(DIGEST_B),
      expected: { digestChanged: true, events: [expect.objectContaining({ message: expect.stringContaining(`(was ${DIGEST_A})`) })] },
    },
    {
      name: 'suspended: no registry call, keeps status, idle',
      spec: { suspend: true },
      status: resolvedStatus,
      answer: async () => Promise.reject(new Error('must not be called')),
      expected: { reason: ImageReason.Suspended, end: { kind: 'idle' }, events: [] },
    },
    {
      name: 'digest reference: InvalidSpec, idle',
      spec: { image: `localhost:5000/apps/demo@${DIGEST_A}` },
      answer: async () => Promise.reject(new Error('must not be called')),
      expected: { reason: ImageReason.InvalidSpec, end: { kind: 'idle' }, events: [expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' })] },
    },
    {
      name: 'interval out of range: InvalidSpec',
      spec: { interval: '500ms' },
      answer: async () => resolution(DIGEST_A),
      expected: { reason: ImageReason.InvalidSpec },
    },
    {
      name: 'a registry failure: Warning event, failed',
      status: resolvedStatus,
      answer: async () => Promise.reject(new RegistryError(ImageReason.RegistryUnavailable, 'connection refused')),
      expected: { reason: ImageReason.RegistryUnavailable, end: { kind: 'failed' }, events: [expect.objectContaining({ type: 'Warning', reason: 'RegistryUnavailable' })] },
    },
    {
      name: "the registry's Retry-After goes to the next-check decision",
      answer: async () => Promise.reject(new RegistryError(ImageReason.RateLimited, 'slow down', { retryAfterMs: 42_000 })),
      expected: { reason: ImageReason.RateLimited, end: { kind: 'failed', retryAfterMs: 42_000 } },
    },
    {
      name: 'an unexpected error is RegistryUnavailable',
      answer: async () => Promise.reject(new TypeError('boom')),
      expected: { reason: ImageReason.RegistryUnavailable, events: [expect.objectContaining({ message: expect.stringContaining('boom') })] },
    },
  ])('$name', async ({ spec, status, answer, expected }) => {
    const result = await check(makeImage('demo', spec, status), answer);
    expect(result).toMatchObject(expected);
  });

  it('a failure keeps latestImage and sets Ready=False with the registry message', async () => {
    const result = await check(makeImage('demo', {}, resolvedStatus), async () => Promise.reject(new RegistryError(ImageReason.NotFound, 'tag latest not found')));
    expect(result.statusPatch).toEqual({
      conditions: [expect.objectContaining({ status: 'False', reason: ImageReason.NotFound, message: 'tag latest not found' })],
    });
  });

  it('a tag a policy chose goes to status.latestTag and the message; a later failure keeps it', async () => {
    const policy: Partial<ImageSpec> = { policy: { semver: { range: '>=1 <2' } } };
    const chosen = await check(makeImage('demo', policy), async () => ({ ...resolution(DIGEST_B), tag: '1.3.0' }));
    expect(chosen.statusPatch).toMatchObject({
      latestImage: `localhost:5000/apps/demo@${DIGEST_B}`,
      latestTag: '1.3.0',
      conditions: [expect.objectContaining({ message: `localhost:5000/apps/demo:1.3.0 (chosen by semver range >=1 <2) resolved to ${DIGEST_B}` })],
    });
    const status = { ...resolvedStatus, latestTag: '1.3.0' };
    const failed = await check(makeImage('demo', policy, status), async () => Promise.reject(new RegistryError(ImageReason.NoMatchingTag, 'no tag fits')));
    expect(failed.statusPatch).toEqual({ conditions: [expect.objectContaining({ status: 'False', reason: ImageReason.NoMatchingTag })] });
    expect(failed.end).toEqual({ kind: 'failed' });
  });

  it('an Image without a policy gets no latestTag', async () => {
    const result = await check(makeImage('demo'), async () => resolution(DIGEST_A));
    expect(result.statusPatch).not.toHaveProperty('latestTag');
  });

});

describe('reconcile with spec.verification', () => {
  const keyAuthority = { name: 'release', key: { secretRef: { name: 'cosign-pub' } } };
  const enforce: Partial<ImageSpec> = { verification: { authorities: [keyAuthority] } };
  const warn: Partial<ImageSpec> = { verification: { mode: 'warn', authorities: [keyAuthority] } };
  const verified = async (digest: string): Promise<Verdict> => ({ digest, verified: true, authority: 'release', message: 'signed by the key' });
  const unsigned = async (digest: string): Promise<Verdict> => ({ digest, verified: false, message: `${digest} has no cosign signature` });
  const signedStatus: ImageStatus = { ...resolvedStatus, verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed by the key' } };

  it.each<{ name: string; spec: Partial<ImageSpec>; status?: ImageStatus; verify: (digest: string) => Promise<Verdict>; expected: Record<string, unknown>; patch?: Record<string, unknown> }>([
    {
      name: 'enforce, signed: deployed, the verdict in status',
      spec: enforce,
      verify: verified,
      expected: { reason: ImageReason.DigestResolved, digestChanged: true, events: [expect.objectContaining({ type: 'Normal', message: expect.stringContaining('signature verified (authority "release")') })] },
      patch: { latestImage: `localhost:5000/apps/demo@${DIGEST_A}`, verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed by the key' } },
    },
    {
      name: 'enforce, a new unsigned digest: latestImage stays, Ready=False SignatureUnverified, a Warning, checked again at the interval',
      spec: enforce,
      status: signedStatus,
      verify: unsigned,
      expected: { reason: ImageReason.SignatureUnverified, end: { kind: 'resolved' }, digestChanged: false, events: [expect.objectContaining({ type: 'Warning', reason: 'SignatureUnverified' })] },
      patch: {
        conditions: [expect.objectContaining({ status: 'False', reason: 'SignatureUnverified', message: expect.stringContaining(`keeping localhost:5000/apps/demo@${DIGEST_A}`) })],
        // The verified digest's authority is removed: a merge patch would otherwise keep it.
        verification: { digest: DIGEST_B, verified: false, message: `${DIGEST_B} has no cosign signature`, authority: null },
      },
    },
    {
      name: 'enforce, unsigned from the start: nothing deployed',
      spec: enforce,
      verify: unsigned,
      expected: { reason: ImageReason.SignatureUnverified },
      patch: { conditions: [expect.objectContaining({ status: 'False', message: expect.stringContaining('nothing is deployed until a signed digest appears') })] },
    },
    {
      name: 'warn, unsigned: deployed, and a Warning says so',
      spec: warn,
      status: signedStatus,
      verify: unsigned,
      expected: {
        reason: ImageReason.DigestResolved,
        digestChanged: true,
        events: [expect.objectContaining({ type: 'Normal', reason: 'DigestResolved' }), expect.objectContaining({ type: 'Warning', reason: 'SignatureUnverified', message: expect.stringContaining('mode is warn') })],
      },
      patch: { latestImage: `localhost:5000/apps/demo@${DIGEST_B}`, digest: DIGEST_B, verification: { digest: DIGEST_B, verified: false, message: `${DIGEST_B} has no cosign signature` } },
    },
    {
      name: 'a missing key Secret: TrustUnavailable naming it, the last verified digest stays, backed off',
      spec: enforce,
      status: signedStatus,
      verify: () => Promise.reject(new TrustError('Secret "cosign-pub" does not exist; create it with the key cosign.pub')),
      expected: { reason: ImageReason.TrustUnavailable, end: { kind: 'failed' } },
      patch: { conditions: [expect.objectContaining({ status: 'False', reason: 'TrustUnavailable', message: expect.stringContaining('Secret "cosign-pub" does not exist') })] },
    },
    {
      name: 'the same verified digest again: no patch, no event',
      spec: enforce,
      status: { ...signedStatus, conditions: [{ ...resolvedStatus.conditions![0], message: `localhost:5000/apps/demo:latest resolved to ${DIGEST_A}; signature verified (authority "release")` }] },
      verify: verified,
      expected: { statusPatch: undefined, events: [] },
    },
  ])('$name', async ({ spec, status, verify, expected, patch }) => {
    const answer = async () => resolution(status ? DIGEST_B : DIGEST_A);
    const result = await check(makeImage('demo', spec, status), expected.statusPatch === undefined && 'statusPatch' in expected ? async () => resolution(DIGEST_A) : answer, verify);
    expect(result).toMatchObject(expected);
    if (patch) expect(result.statusPatch).toMatchObject(patch);
    if (patch && !('latestImage' in patch)) expect(result.statusPatch).not.toHaveProperty('latestImage');
  });

  it('an identity pattern that is not RE2 is an invalid spec', async () => {
    const spec: Partial<ImageSpec> = {
      verification: { authorities: [{ name: 'ci', keyless: { identities: [{ issuer: 'https://issuer', subjectRegExp: '(a+)+\\1' }], trustRootRef: { name: 'root' } } }] },
    };
    const result = await check(makeImage('demo', spec), async () => resolution(DIGEST_A));
    expect(result).toMatchObject({ reason: ImageReason.InvalidSpec, statusPatch: { conditions: [expect.objectContaining({ message: expect.stringContaining('is not an RE2 regular expression') })] } });
  });
});
