import { describe, expect, it } from 'vitest';
import { ImageReason, type Image, type ImageSpec, type ImageStatus } from '../api/image.js';
import { RegistryError } from '../registry/index.js';
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
const check = (image: Image, answer: () => Promise<Resolution>) => reconcile(image, parseSpec(image, 10_000), { resolve: answer }, NOW);

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

});
