import { describe, expect, it } from 'vitest';
import { DIGEST_A, DIGEST_B, makeImage } from '../testing/images.js';
import { parseSpec, type ImageRecord } from './image-record.js';
import { answerNotBefore, backoffDelay, nextCheck, NOTIFICATION_LOOK_AGAIN_MS, type CheckEnd, type CheckHistory, type NextCheck, type Notification } from './next-check.js';

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

describe('nextCheck: what asks for a check now, and the looks again after a notification', () => {
  const T = 1_000_000;
  const notified = (fields: Partial<Notification> = {}): Notification => ({ at: T, looked: 1, ...fields });
  const withNotice = (notification: Notification, lastCheckAt: number, statusDigest?: string): CheckHistory => ({
    ...record(),
    image: makeImage('demo', {}, statusDigest ? { digest: statusDigest } : undefined),
    lastCheckAt,
    notification,
  });

  it.each<{ name: string; event: Parameters<typeof nextCheck>[1] }>([
    { name: 'a new Image', event: { kind: 'created' } },
    { name: 'a spec change', event: { kind: 'specChanged' } },
    { name: 'taking the lead', event: { kind: 'leading' } },
  ])('$name is checked now, its history kept', ({ event }) => {
    const before = { ...record({ failures: 3 }), notification: notified() };
    expect(nextCheck(before, event, random)).toEqual({ delayMs: 0, failures: 3, phased: true, notification: notified() });
  });

  it('a notification is checked now and replaces the one being followed up', () => {
    const before = { ...record({ failures: 2 }), notification: notified({ at: T - 5_000, looked: 3 }) };
    expect(nextCheck(before, { kind: 'notified', at: T, digest: DIGEST_B }, random)).toEqual({ delayMs: 0, failures: 2, phased: true, notification: { at: T, digest: DIGEST_B, looked: 0 } });
  });

  it.each<{ name: string; before: CheckHistory; end: CheckEnd; expected: Pick<NextCheck, 'delayMs' | 'notification'> }>([
    { name: 'after the first look: the next look, 100 ms after the notification', before: withNotice(notified(), T + 5), end: { kind: 'resolved' }, expected: { delayMs: 95, notification: notified() } },
    { name: 'a look that fell due while the check ran: at once', before: withNotice(notified({ looked: 2 }), T + 600), end: { kind: 'resolved' }, expected: { delayMs: 0, notification: notified({ looked: 2 }) } },
    { name: 'a failure: the sooner of the look and the backoff', before: withNotice(notified({ looked: 4 }), T + 1_000), end: { kind: 'failed' }, expected: { delayMs: 1_000, notification: notified({ looked: 4 }) } },
    { name: 'the status shows the pushed digest: done, the interval', before: withNotice(notified({ digest: DIGEST_B }), T + 5, DIGEST_B), end: { kind: 'resolved' }, expected: { delayMs: 10_000, notification: undefined } },
    { name: 'another digest shows: look again', before: withNotice(notified({ digest: DIGEST_B }), T + 5, DIGEST_A), end: { kind: 'resolved' }, expected: { delayMs: 95, notification: notified({ digest: DIGEST_B }) } },
    { name: 'every look made: done', before: withNotice(notified({ looked: 1 + NOTIFICATION_LOOK_AGAIN_MS.length }), T + 3_005), end: { kind: 'resolved' }, expected: { delayMs: 10_000, notification: undefined } },
    { name: 'suspended meanwhile: done, nothing planned', before: withNotice(notified(), T + 5), end: { kind: 'idle' }, expected: { delayMs: undefined, notification: undefined } },
    { name: 'not leading: done, the new leader checks everything', before: withNotice(notified(), T + 5), end: { kind: 'paused' }, expected: { delayMs: 10_000, notification: undefined } },
  ])('$name', ({ before, end, expected }) => {
    const { delayMs, notification } = nextCheck(before, end, nominal);
    expect({ delayMs, notification }).toEqual(expected);
  });
});

describe('answerNotBefore', () => {
  const T = 1_000_000;
  const base = { ...record(), lastCheckAt: T - 2_000 };

  it('an answer at most an interval old, started after the previous check ended', () => {
    expect(answerNotBefore({ ...base, lastCheckAt: T - 20_000 }, T)).toEqual({ notBefore: T - 10_000 });
    expect(answerNotBefore(base, T)).toEqual({ notBefore: T - 1_999 });
  });

  it.each([
    { name: 'the check the notification asked for needs an answer from after it', startedAt: T, looked: 0, expected: { notBefore: T, looked: 1 } },
    { name: 'a look needs an answer from after its own time', startedAt: T + 300, looked: 2, expected: { notBefore: T + 300, looked: 3 } },
    { name: 'a late check covers every look due by its start', startedAt: T + 1_200, looked: 1, expected: { notBefore: T + 1_000, looked: 4 } },
    { name: 'a check that started before the notification covers none of it', startedAt: T - 1, looked: 0, expected: { notBefore: T - 1_999, looked: 0 } },
  ])('$name', ({ startedAt, looked, expected }) => {
    const { notBefore, notification } = answerNotBefore({ ...base, notification: { at: T, looked } }, startedAt);
    expect({ notBefore, looked: notification?.looked }).toEqual(expected);
  });
});
