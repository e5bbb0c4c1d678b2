import { describe, expect, it } from 'vitest';
import { ImageReason, type ImageSpec, type ImageStatus } from '../api/image.js';
import { RegistryError } from '../registry/index.js';
import { DIGEST_A, DIGEST_B, makeImage, OCI_INDEX } from '../testing/images.js';
import { backoffDelay, reconcile, type Resolution } from './reconcile.js';

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
/** No jitter: random() = 0.5 puts every delay exactly on its nominal value. */
const deps = (answer: () => Promise<Resolution>) => ({ resolve: answer, defaultIntervalMs: 10_000, random: () => 0.5 });

describe('reconcile decisions', () => {
  it.each<{ name: string; spec?: Partial<ImageSpec>; status?: ImageStatus; answer: () => Promise<Resolution>; failures?: number; expected: Record<string, unknown> }>([
    {
      name: 'first digest: patch, Normal event, next check at the default interval',
      answer: async () => resolution(DIGEST_A),
      expected: { reason: ImageReason.DigestResolved, digestChanged: true, nextCheckInMs: 10_000, failures: 0, events: [expect.objectContaining({ type: 'Normal', reason: 'DigestResolved' })] },
    },
    {
      name: 'same digest: no patch, no event',
      status: resolvedStatus,
      answer: async () => resolution(DIGEST_A),
      expected: { statusPatch: undefined, events: [], digestChanged: false, nextCheckInMs: 10_000 },
    },
    {
      name: 'spec.interval sets the next check',
      spec: { interval: '1m30s' },
      status: resolvedStatus,
      answer: async () => resolution(DIGEST_A),
      expected: { nextCheckInMs: 90_000 },
    },
    {
      name: 'new digest: event names the old and new digests',
      status: resolvedStatus,
      answer: async () => resolution(DIGEST_B),
      expected: { digestChanged: true, events: [expect.objectContaining({ message: expect.stringContaining(`(was ${DIGEST_A})`) })] },
    },
    {
      name: 'suspended: no registry call, keeps status, no next check',
      spec: { suspend: true },
      status: resolvedStatus,
      answer: async () => Promise.reject(new Error('must not be called')),
      expected: { reason: ImageReason.Suspended, nextCheckInMs: undefined, events: [] },
    },
    {
      name: 'digest reference: InvalidSpec, no next check',
      spec: { image: `localhost:5000/apps/demo@${DIGEST_A}` },
      answer: async () => Promise.reject(new Error('must not be called')),
      expected: { reason: ImageReason.InvalidSpec, nextCheckInMs: undefined, events: [expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' })] },
    },
    {
      name: 'interval out of range: InvalidSpec',
      spec: { interval: '500ms' },
      answer: async () => resolution(DIGEST_A),
      expected: { reason: ImageReason.InvalidSpec },
    },
    {
      name: 'first failure retries after 1 s',
      status: resolvedStatus,
      answer: async () => Promise.reject(new RegistryError(ImageReason.RegistryUnavailable, 'connection refused')),
      expected: { reason: ImageReason.RegistryUnavailable, failures: 1, nextCheckInMs: 1_000 },
    },
    {
      name: 'fourth failure in a row retries after 8 s',
      status: resolvedStatus,
      failures: 3,
      answer: async () => Promise.reject(new RegistryError(ImageReason.RegistryUnavailable, 'connection refused')),
      expected: { failures: 4, nextCheckInMs: 8_000 },
    },
    {
      name: 'Retry-After longer than the backoff wins',
      answer: async () => Promise.reject(new RegistryError(ImageReason.RateLimited, 'slow down', { retryAfterMs: 42_000 })),
      expected: { reason: ImageReason.RateLimited, nextCheckInMs: 42_000 },
    },
    {
      name: 'an unexpected error is RegistryUnavailable',
      answer: async () => Promise.reject(new TypeError('boom')),
      expected: { reason: ImageReason.RegistryUnavailable, events: [expect.objectContaining({ message: expect.stringContaining('boom') })] },
    },
  ])('$name', async ({ spec, status, answer, failures, expected }) => {
    const result = await reconcile(makeImage('demo', spec, status), deps(answer), NOW, failures);
    expect(result).toMatchObject(expected);
  });

  it('a failure keeps latestImage and sets Ready=False with the registry message', async () => {
    const result = await reconcile(
      makeImage('demo', {}, resolvedStatus),
      deps(async () => Promise.reject(new RegistryError(ImageReason.NotFound, 'tag latest not found'))),
      NOW,
    );
    expect(result.statusPatch).toEqual({
      conditions: [expect.objectContaining({ status: 'False', reason: ImageReason.NotFound, message: 'tag latest not found' })],
    });
  });

  it.each([
    [1, 10_000, 1_000],
    [2, 10_000, 2_000],
    [4, 10_000, 8_000],
    [5, 10_000, 10_000],
    [40, 10_000, 10_000],
    [3, 2_000, 2_000],
    [9, 3_600_000, 256_000],
    [10, 3_600_000, 300_000],
    [40, 3_600_000, 300_000],
  ])('backoff after %i failures with a %i ms interval is %i ms', (failures, interval, delay) => {
    expect(backoffDelay(failures, interval, () => 0.5)).toBe(delay);
  });

  it('jitter stays within ±10%', () => {
    expect(backoffDelay(1, 10_000, () => 0)).toBe(900);
    expect(backoffDelay(1, 10_000, () => 0.999999)).toBe(1_100);
  });
});
