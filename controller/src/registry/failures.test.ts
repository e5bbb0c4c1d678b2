import { describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { errorForStatus, errorForTransport, parseRetryAfter, type FailureContext } from './failures.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['30', 30_000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 00:01:00 GMT', 60_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('errorForStatus', () => {
  const context: FailureContext = {
    registry: '127.0.0.1:5000',
    peer: 'registry 127.0.0.1:5000',
    subject: 'apps/demo:latest',
    credentialSource: 'pull secret "regcred"',
    withCredentials: true,
  };

  it.each([
    [401, undefined, ImageReason.Unauthorized, 'registry 127.0.0.1:5000 refused the credentials from pull secret "regcred"'],
    [403, '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}', ImageReason.Forbidden,
      'registry 127.0.0.1:5000 denied access to apps/demo:latest to the credentials from pull secret "regcred" (DENIED: requested access to the resource is denied)'],
    [404, undefined, ImageReason.NotFound, 'registry 127.0.0.1:5000 has no apps/demo:latest'],
    [429, undefined, ImageReason.RateLimited, 'registry 127.0.0.1:5000 is rate limiting requests for apps/demo:latest; it asked to retry in 7s'],
    [400, '{"errors":[{"code":"NAME_INVALID"}]}', ImageReason.InvalidSpec, 'registry 127.0.0.1:5000 rejected the name apps/demo:latest (NAME_INVALID)'],
    [503, '<html>', ImageReason.RegistryUnavailable, 'registry 127.0.0.1:5000 answered a server error, HTTP 503, for apps/demo:latest'],
    [418, undefined, ImageReason.RegistryUnavailable, 'registry 127.0.0.1:5000 answered an unexpected status, HTTP 418, for apps/demo:latest'],
  ])('%i', (status, body, reason, message) => {
    const error = errorForStatus(status, { retryAfter: '7' }, body, context);
    expect({ reason: error.reason, message: error.message, httpStatus: error.httpStatus }).toEqual({ reason, message, httpStatus: status });
  });

  it('carries Retry-After on 429', () => {
    expect(errorForStatus(429, { retryAfter: '7' }, undefined, context).retryAfterMs).toBe(7000);
  });

  it.each([
    ['999999999', 'it asked to retry in 999999999s, the controller waits at most 600s'],
    [new Date(Date.now() + 86_400_000 * 365).toUTCString(), 'the controller waits at most 600s'],
  ])('clamps Retry-After %s to ten minutes', (retryAfter, said) => {
    const error = errorForStatus(429, { retryAfter }, undefined, context);
    expect(error.retryAfterMs).toBe(600_000);
    expect(error.message).toContain(said);
  });

  it("quotes at most three of a registry's error entries, each cut at 200 characters", () => {
    const errors = Array.from({ length: 10_000 }, (_, i) => ({ code: 'DENIED', message: `${i} ${'x'.repeat(1_000)}` }));
    const error = errorForStatus(500, {}, JSON.stringify({ errors }), context);
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.message).toContain('; and 9997 more)');
  });

  it.each([
    [{ credentialSource: undefined, withCredentials: false }, 'registry 127.0.0.1:5000 requires credentials for apps/demo:latest and none were given'],
    [{ withCredentials: false }, 'registry 127.0.0.1:5000 requires credentials for apps/demo:latest and pull secret "regcred" has no entry for 127.0.0.1:5000'],
  ])('401 says what was missing', (overrides, message) => {
    expect(errorForStatus(401, {}, undefined, { ...context, ...overrides }).message).toBe(message);
  });
});

describe('errorForTransport', () => {
  const peer = 'registry localhost:5000';
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
  it.each([
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'registry localhost:5000 did not answer within 2.5s'],
    [coded('ECONNREFUSED'), 'cannot connect to registry localhost:5000: connection refused'],
    [coded('ECONNRESET'), 'registry localhost:5000 closed the connection before answering (ECONNRESET)'],
    [coded('ENOTFOUND'), 'cannot resolve the host name of registry localhost:5000 (ENOTFOUND)'],
    [coded('SELF_SIGNED_CERT_IN_CHAIN'), "the TLS certificate of registry localhost:5000 is not signed by a trusted CA (SELF_SIGNED_CERT_IN_CHAIN); give the registry's CA (spec.caSecretRef, or --ca-file)"],
    [coded('ERR_SSL_WRONG_VERSION_NUMBER'), 'registry localhost:5000 does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER)'],
    [coded('EHOSTUNREACH', 'connect EHOSTUNREACH'), 'cannot reach registry localhost:5000: connect EHOSTUNREACH'],
  ])('%s', (error, message) => {
    const mapped = errorForTransport(error, peer, 2500);
    expect({ reason: mapped.reason, message: mapped.message }).toEqual({ reason: ImageReason.RegistryUnavailable, message });
    expect(mapped.cause).toBe(error);
  });
});
