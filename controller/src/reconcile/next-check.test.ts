import { describe, expect, it } from 'vitest';
import { makeImage } from '../testing/images.js';
import { parseSpec, type ImageRecord } from './image-record.js';
import { backoffDelay, nextCheck, type CheckEnd, type NextCheck } from './next-check.js';

/** random() = 0.5 puts every jittered delay exactly on its nominal value; 0.25 makes a first period of 75%. */
const random = () => 0.25;
const record = (fields: Partial<Pick<ImageRecord, 'failures' | 'phased'>> & { interval?: string } = {}): Pick<ImageRecord, 'spec' | 'failures' | 'phased'> => ({
  spec: parseSpec(makeImage('demo', fields.interval ? { interval: fields.interval } : {}), 10_000),
  failures: fields.failures ?? 0,
  phased: fields.phased ?? true,
});
const nominal = () => 0.5;

describe('nextCheck', () => {
  it.each<{ name: string; before: ReturnType<typeof record>; end: CheckEnd; rnd?: () => number; expected: NextCheck }>([
    { name: 'first success: a first period anywhere in the interval, then phased', before: record({ phased: false }), end: { kind: 'resolved' }, expected: { delayMs: 7_500, failures: 0, phased: true } },
    { name: 'success once phased: exactly the interval', before: record(), end: { kind: 'resolved' }, expected: { delayMs: 10_000, failures: 0, phased: true } },
    { name: "success: spec.interval's interval", before: record({ interval: '1m30s' }), end: { kind: 'resolved' }, expected: { delayMs: 90_000, failures: 0, phased: true } },
    { name: 'success after failures resets them', before: record({ failures: 5 }), end: { kind: 'resolved' }, expected: { delayMs: 10_000, failures: 0, phased: true } },
    { name: 'failures before the first success leave the phase unset', before: record({ phased: false }), end: { kind: 'failed' }, rnd: nominal, expected: { delayMs: 1_000, failures: 1, phased: false } },
    { name: 'first failure: 1 s', before: record(), end: { kind: 'failed' }, rnd: nominal, expected: { delayMs: 1_000, failures: 1, phased: true } },
    { name: 'fourth failure in a row: 8 s', before: record({ failures: 3 }), end: { kind: 'failed' }, rnd: nominal, expected: { delayMs: 8_000, failures: 4, phased: true } },
    { name: 'backoff is capped at the interval', before: record({ failures: 20 }), end: { kind: 'failed' }, rnd: nominal, expected: { delayMs: 10_000, failures: 21, phased: true } },
    { name: 'Retry-After longer than the backoff wins', before: record(), end: { kind: 'failed', retryAfterMs: 42_000 }, rnd: nominal, expected: { delayMs: 42_000, failures: 1, phased: true } },
    { name: 'Retry-After shorter than the backoff loses', before: record({ failures: 3 }), end: { kind: 'failed', retryAfterMs: 500 }, rnd: nominal, expected: { delayMs: 8_000, failures: 4, phased: true } },
    { name: 'a failed status write backs off like a failure', before: record({ failures: 1 }), end: { kind: 'patchFailed' }, rnd: nominal, expected: { delayMs: 2_000, failures: 2, phased: true } },
    { name: 'suspended or invalid: only a spec change brings it back', before: record({ failures: 2 }), end: { kind: 'idle' }, expected: { delayMs: undefined, failures: 0, phased: true } },
    { name: 'not leading: the interval, and no failure counted', before: record({ failures: 2 }), end: { kind: 'paused' }, expected: { delayMs: 10_000, failures: 2, phased: true } },
    { name: 'an invalid interval falls back to --interval for retries', before: record({ interval: 'soon' }), end: { kind: 'patchFailed' }, rnd: nominal, expected: { delayMs: 1_000, failures: 1, phased: true } },
  ])('$name', ({ before, end, rnd, expected }) => {
    expect(nextCheck(before, end, rnd ?? random)).toEqual(expected);
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
    expect(backoffDelay(failures, interval, nominal)).toBe(delay);
  });

  it('jitter stays within ±10%', () => {
    expect(backoffDelay(1, 10_000, () => 0)).toBe(900);
    expect(backoffDelay(1, 10_000, () => 0.999999)).toBe(1_100);
  });
});
