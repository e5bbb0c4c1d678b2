import { describe, expect, it } from 'vitest';
import { ImageReason, type ImageStatus } from '../api/image.js';
import { DIGEST_A, DIGEST_B, makeImage, OCI_INDEX } from '../testing/images.js';
import { desiredStatus, statusPatch, type CheckOutcome } from './status.js';

const EARLIER = '2024-12-31T00:00:00.000Z';
const NOW = new Date('2025-01-01T00:00:00.000Z');

const resolvedA: CheckOutcome = { kind: 'resolved', digest: DIGEST_A, mediaType: OCI_INDEX, latestImage: `localhost:5000/apps/demo@${DIGEST_A}`, message: 'ok' };
const statusA: ImageStatus = {
  latestImage: `localhost:5000/apps/demo@${DIGEST_A}`,
  complete: true,
  digest: DIGEST_A,
  mediaType: OCI_INDEX,
  observedGeneration: 1,
  conditions: [{ type: 'Ready', status: 'True', reason: ImageReason.DigestResolved, message: 'ok', lastTransitionTime: EARLIER, observedGeneration: 1 }],
};

describe('desiredStatus + statusPatch', () => {
  it.each<{ name: string; current?: ImageStatus; outcome: CheckOutcome; patch: Partial<ImageStatus> | undefined }>([
    {
      name: 'first resolution writes everything, stamping the transition now',
      outcome: resolvedA,
      patch: { ...statusA, conditions: [{ ...statusA.conditions![0]!, lastTransitionTime: NOW.toISOString() }] },
    },
    { name: 'the same digest again writes nothing', current: statusA, outcome: resolvedA, patch: undefined },
    {
      name: 'a new digest changes the digest fields and the message, not the transition time',
      current: statusA,
      outcome: { ...resolvedA, digest: DIGEST_B, latestImage: `localhost:5000/apps/demo@${DIGEST_B}`, message: 'now B' },
      patch: {
        latestImage: `localhost:5000/apps/demo@${DIGEST_B}`,
        digest: DIGEST_B,
        conditions: [{ ...statusA.conditions![0]!, message: 'now B' }],
      },
    },
    {
      name: 'a failure keeps latestImage and flips Ready to False now',
      current: statusA,
      outcome: { kind: 'failed', reason: ImageReason.NotFound, message: 'tag gone' },
      patch: { conditions: [{ type: 'Ready', status: 'False', reason: ImageReason.NotFound, message: 'tag gone', lastTransitionTime: NOW.toISOString(), observedGeneration: 1 }] },
    },
    {
      name: 'another failure reason keeps the transition time of the first failure',
      current: { ...statusA, conditions: [{ type: 'Ready', status: 'False', reason: ImageReason.NotFound, message: 'tag gone', lastTransitionTime: EARLIER, observedGeneration: 1 }] },
      outcome: { kind: 'failed', reason: ImageReason.RegistryUnavailable, message: 'down' },
      patch: { conditions: [{ type: 'Ready', status: 'False', reason: ImageReason.RegistryUnavailable, message: 'down', lastTransitionTime: EARLIER, observedGeneration: 1 }] },
    },
    {
      name: 'suspending an Image with a digest keeps Ready True with reason Suspended',
      current: statusA,
      outcome: { kind: 'suspended' },
      patch: { conditions: [{ type: 'Ready', status: 'True', reason: ImageReason.Suspended, message: expect.stringContaining('keeping'), lastTransitionTime: EARLIER, observedGeneration: 1 }] },
    },
    {
      name: 'a failure keeps the last verdict',
      current: { ...statusA, verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed' } },
      outcome: { kind: 'failed', reason: ImageReason.RegistryUnavailable, message: 'down' },
      patch: { conditions: [expect.objectContaining({ reason: ImageReason.RegistryUnavailable })] },
    },
    {
      name: "an unverified digest's verdict replaces the verified one whole: the authority it lacks is removed",
      current: { ...statusA, verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed' } },
      outcome: { kind: 'failed', reason: ImageReason.SignatureUnverified, message: 'unsigned', verification: { digest: DIGEST_B, verified: false, message: 'no signature' } },
      patch: {
        verification: { digest: DIGEST_B, verified: false, message: 'no signature', authority: null } as never,
        conditions: [expect.objectContaining({ reason: ImageReason.SignatureUnverified })],
      },
    },
    {
      name: 'resolved without a verdict (spec.verification removed): status.verification is removed',
      current: { ...statusA, verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed' } },
      outcome: resolvedA,
      patch: { verification: null } as never,
    },
  ])('$name', ({ current, outcome, patch }) => {
    const image = makeImage('demo', {}, current);
    expect(statusPatch(current, desiredStatus(image, outcome, NOW))).toEqual(patch);
  });

  it('keeps conditions of other types in place', () => {
    const other = { type: 'Ready2' as 'Ready', status: 'True' as const, reason: ImageReason.DigestResolved, message: 'theirs', lastTransitionTime: EARLIER };
    const current = { ...statusA, conditions: [other, ...statusA.conditions!] };
    const desired = desiredStatus(makeImage('demo', {}, current), resolvedA, NOW);
    expect(desired.conditions).toContainEqual(other);
    expect(statusPatch(current, desired)).toBeUndefined();
  });

  it("reads the API server's copy with its keys in another order as unchanged", () => {
    const desired = desiredStatus(makeImage('demo', {}, statusA), resolvedA, NOW);
    const reordered = Object.fromEntries(Object.entries(statusA).reverse().map(([key, value]) => [key, Array.isArray(value) ? value.map((c) => Object.fromEntries(Object.entries(c).reverse())) : value]));
    expect(Object.keys(reordered)).not.toEqual(Object.keys(statusA));
    expect(statusPatch(reordered, desired)).toBeUndefined();
  });

  it('a new generation rewrites observedGeneration only', () => {
    const image = { ...makeImage('demo', {}, statusA), metadata: { ...makeImage('demo').metadata, generation: 2 } };
    expect(statusPatch(statusA, desiredStatus(image, resolvedA, NOW))).toEqual({
      observedGeneration: 2,
      conditions: [{ ...statusA.conditions![0]!, observedGeneration: 2 }],
    });
  });
});
