import { describe, expect, it } from 'vitest';
import { parseAuthChallenges, parseTokenResponse, TokenCache, tokenRequest, type AuthChallenge } from './auth.js';

describe('parseAuthChallenges', () => {
  it.each<[string, string | string[], AuthChallenge[]]>([
    ['Basic', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'distribution Bearer',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
        },
      ],
    ],
    [
      'comma inside a quoted scope',
      'Bearer realm="https://r/token", scope="repository:a:pull,push repository:b:pull", service="s"',
      [{ scheme: 'bearer', params: { realm: 'https://r/token', scope: 'repository:a:pull,push repository:b:pull', service: 's' } }],
    ],
    [
      'escaped quote and unquoted values',
      'Bearer realm="a\\"b", service=registry , error=insufficient_scope',
      [{ scheme: 'bearer', params: { realm: 'a"b', service: 'registry', error: 'insufficient_scope' } }],
    ],
    [
      'two challenges in one header',
      'Basic realm="basic", Bearer realm="https://t/token",service="svc"',
      [
        { scheme: 'basic', params: { realm: 'basic' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', service: 'svc' } },
      ],
    ],
    [
      'two headers',
      ['Basic realm="one"', 'BEARER Realm="https://t"'],
      [
        { scheme: 'basic', params: { realm: 'one' } },
        { scheme: 'bearer', params: { realm: 'https://t' } },
      ],
    ],
    ['scheme alone', 'Negotiate', [{ scheme: 'negotiate', params: {} }]],
    ['empty', '', []],
    ['unterminated quote', 'Bearer realm="https://t', [{ scheme: 'bearer', params: { realm: 'https://t' } }]],
  ])('%s', (_name, header, expected) => {
    expect(parseAuthChallenges(header)).toEqual(expected);
  });

  it('accepts a missing header', () => {
    expect(parseAuthChallenges(undefined)).toEqual([]);
  });
});

describe('tokenRequest', () => {
  const challenge: AuthChallenge = { scheme: 'bearer', params: { realm: 'https://auth.example/token?x=1', service: 'reg' } };

  it.each([
    ['anonymous', undefined, 'GET', undefined],
    ['basic credentials', { username: 'u', password: 'p:w' }, 'GET', `Basic ${Buffer.from('u:p:w').toString('base64')}`],
  ])('%s: GET realm?service&scope', (_name, credentials, method, authorization) => {
    const request = tokenRequest(challenge, 'repository:apps/demo:pull', credentials, 'image-controller');
    expect(request.method).toBe(method);
    expect(request.url.href).toBe('https://auth.example/token?x=1&service=reg&scope=repository%3Aapps%2Fdemo%3Apull');
    expect(request.headers.authorization).toBe(authorization);
  });

  it('exchanges an identity token as an OAuth2 refresh token', () => {
    const request = tokenRequest(challenge, 'repository:a:pull', { username: '<token>', identityToken: 'refresh' }, 'image-controller');
    expect(request.method).toBe('POST');
    expect(request.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh',
      client_id: 'image-controller',
      scope: 'repository:a:pull',
      service: 'reg',
    });
  });
});

describe('parseTokenResponse', () => {
  it.each([
    ['token', '{"token":"t","expires_in":300}', { token: 't', expiresInSeconds: 300 }],
    ['OAuth2 access_token', '{"access_token":"a","expires_in":120}', { token: 'a', expiresInSeconds: 120 }],
    ['both: token wins', '{"token":"t","access_token":"a"}', { token: 't', expiresInSeconds: 60 }],
    ['no expires_in: 60 s', '{"token":"t"}', { token: 't', expiresInSeconds: 60 }],
    ['nonsense expires_in: 60 s', '{"token":"t","expires_in":"soon"}', { token: 't', expiresInSeconds: 60 }],
    ['no token', '{"expires_in":60}', undefined],
    ['not JSON', '<html>', undefined],
    ['null', 'null', undefined],
  ])('%s', (_name, body, expected) => {
    expect(parseTokenResponse(body)).toEqual(expected);
  });
});

describe('TokenCache', () => {
  const challenge: AuthChallenge = { scheme: 'bearer', params: { realm: 'https://t', service: 's' } };

  // lru-cache's TTL: an entry is stale once more than its ttl has passed since it was set.
  const issuedAt = Date.parse('2026-01-01T00:00:00Z');

  it('keeps a token until ten seconds before it expires', () => {
    let now = issuedAt;
    const cache = new TokenCache({ now: () => now });
    const key = TokenCache.key(challenge, 'repository:a:pull', undefined);
    cache.set(key, { token: 't', expiresInSeconds: 60 });
    now = issuedAt + 50_000;
    expect(cache.get(key)).toBe('t');
    now = issuedAt + 50_001;
    expect(cache.get(key)).toBeUndefined();
  });

  it('keeps a short-lived token for half its life', () => {
    let now = issuedAt;
    const cache = new TokenCache({ now: () => now });
    const key = TokenCache.key(challenge, 'repository:a:pull', undefined);
    cache.set(key, { token: 't', expiresInSeconds: 4 });
    now = issuedAt + 2_000;
    expect(cache.get(key)).toBe('t');
    now = issuedAt + 2_001;
    expect(cache.get(key)).toBeUndefined();
  });

  it('keeps no token longer than an hour, whatever the registry says', () => {
    let now = issuedAt;
    const cache = new TokenCache({ now: () => now });
    const key = TokenCache.key(challenge, 'repository:a:pull', undefined);
    cache.set(key, { token: 't', expiresInSeconds: 999_999_999 });
    now = issuedAt + 3_600_001;
    expect(cache.get(key)).toBeUndefined();
  });

  it('separates scopes and credentials, and never holds a password in a key', () => {
    const keys = [
      TokenCache.key(challenge, 'repository:a:pull', undefined),
      TokenCache.key(challenge, 'repository:b:pull', undefined),
      TokenCache.key(challenge, 'repository:a:pull', { username: 'u', password: 'secret-1' }),
      TokenCache.key(challenge, 'repository:a:pull', { username: 'u', password: 'secret-2' }),
      TokenCache.key({ ...challenge, params: { ...challenge.params, service: 'other' } }, 'repository:a:pull', undefined),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.join()).not.toContain('secret');
  });

  it('is bounded in count and bytes, however many scopes a registry invents', () => {
    const cache = new TokenCache({ now: () => 0 });
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 1_000; i++) cache.set(TokenCache.key(challenge, `repository:rotating-${i}:pull`, undefined), { token: big, expiresInSeconds: 3600 });
    // 1 MiB of 16 KiB tokens: the newest 64 are kept, the older ones were dropped.
    expect(cache.size).toBe(64);
    expect(cache.get(TokenCache.key(challenge, 'repository:rotating-999:pull', undefined))).toBe(big);
    expect(cache.get(TokenCache.key(challenge, 'repository:rotating-0:pull', undefined))).toBeUndefined();
  });
});
