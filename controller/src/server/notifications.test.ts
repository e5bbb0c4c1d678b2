import { afterEach, describe, expect, it, vi } from 'vitest';

// Spy on timingSafeEqual while keeping its real behaviour, to prove the token comparison goes through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { timingSafeEqual } = await import('node:crypto');
const { bearerTokenMatches, parsePushedTags } = await import('./notifications.js');
const { DIGEST_A } = await import('../testing/images.js');

const TOKEN = 'b1f2c3d4e5f60718293a4b5c6d7e8f90';

describe('bearerTokenMatches', () => {
  afterEach(() => vi.mocked(timingSafeEqual).mockClear());

  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}  `, true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    [`Basic ${TOKEN}`, false],
    [`Bearer ${TOKEN.slice(0, -1)}1`, false],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN.slice(0, 8)}`, false],
    [`Bearer ${TOKEN} extra`, false],
  ])('%j → %s', (authorization, expected) => {
    expect(bearerTokenMatches(authorization, TOKEN)).toBe(expected);
  });

  it('compares in constant time, on equal-length digests whatever the presented length', () => {
    for (const presented of ['', 'short', TOKEN, `${TOKEN}${TOKEN}`]) bearerTokenMatches(`Bearer ${presented}`, TOKEN);
    const calls = vi.mocked(timingSafeEqual).mock.calls;
    expect(calls).toHaveLength(4);
    for (const [a, b] of calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });

  it('an empty configured token matches nothing', () => {
    expect(bearerTokenMatches('Bearer ', '')).toBe(false);
    expect(bearerTokenMatches(undefined, '')).toBe(false);
  });
});

describe('parsePushedTags', () => {
  const envelope = (...events: object[]) => JSON.stringify({ events });

  it.each([
    ['a tag push with its digest', envelope({ action: 'push', target: { repository: 'apps/demo', tag: 'latest', digest: DIGEST_A } }), [{ repository: 'apps/demo', tag: 'latest', digest: DIGEST_A }]],
    ['a tag push without a digest', envelope({ action: 'push', target: { repository: 'apps/demo', tag: 'v1' } }), [{ repository: 'apps/demo', tag: 'v1' }]],
    ['a push by digest (no tag) and a blob push', envelope({ action: 'push', target: { repository: 'apps/demo', digest: DIGEST_A } }), []],
    ['a pull', envelope({ action: 'pull', target: { repository: 'apps/demo', tag: 'latest' } }), []],
    ['not an envelope', '{"hello":1}', undefined],
    ['not JSON', 'push!', undefined],
  ])('%s', (_, body, expected) => {
    expect(parsePushedTags(body)).toEqual(expected);
  });
});

