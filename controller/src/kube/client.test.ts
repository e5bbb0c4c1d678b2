import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Image } from '../api/image.js';
import { makeImage } from '../testing/images.js';
import { cachedImage, describeApiError } from './client.js';

const forbidden = {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'images.example.com "demo" is forbidden: User "system:serviceaccount:image-controller-system:image-controller" cannot patch resource "images/status" in API group "example.com" in the namespace "default"',
  reason: 'Forbidden',
  code: 403,
};

describe('describeApiError', () => {
  it.each([
    {
      name: 'a Status body as client-node keeps it (text)',
      error: new ApiException(403, 'Unknown API Status Code!', JSON.stringify(forbidden), { 'audit-id': 'x' }),
      expected: { code: 403, reason: 'Forbidden', message: forbidden.message },
    },
    {
      name: 'a Status body already parsed',
      error: new ApiException(404, 'Not Found', { ...forbidden, code: 404, reason: 'NotFound', message: 'images.example.com "demo" not found' }, {}),
      expected: { code: 404, reason: 'NotFound', message: 'images.example.com "demo" not found' },
    },
    {
      name: 'a body that is no Status (a proxy page)',
      error: new ApiException(502, 'Unknown API Status Code!', 'Bad Gateway\n', {}),
      expected: { code: 502, reason: 'HTTP 502', message: 'Bad Gateway' },
    },
    {
      name: '401: client-node keeps no body',
      error: new ApiException(401, 'Unauthorized', undefined, {}),
      expected: { code: 401, reason: 'HTTP 401', message: expect.stringContaining('Unauthorized') },
    },
    {
      name: 'a watch that ended with an HTTP status',
      error: Object.assign(new Error('Forbidden'), { statusCode: 403 }),
      expected: { code: 403, reason: 'HTTP 403', message: 'Forbidden' },
    },
    {
      name: 'no answer at all',
      error: Object.assign(new TypeError('fetch failed'), { cause: new Error('ECONNREFUSED') }),
      expected: { code: undefined, reason: 'TypeError', message: 'fetch failed' },
    },
  ])('$name', ({ error, expected }) => {
    expect(describeApiError(error)).toEqual(expected);
  });
});

describe('cachedImage', () => {
  const status = { latestImage: 'localhost:5000/apps/demo@sha256:1', observedGeneration: 3 };
  const asListed = {
    ...makeImage('demo', { interval: '1m' }, status),
    metadata: {
      ...makeImage('demo').metadata,
      generation: 3,
      creationTimestamp: '2026-11-24T00:00:00Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"example.com/v1",…}' },
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:spec': { 'f:image': {} } } }],
    },
  } as Image;

  it('keeps what reconcile, the status patch and Events read, and drops managedFields and annotations', () => {
    expect(cachedImage(asListed)).toStrictEqual({
      apiVersion: 'example.com/v1',
      kind: 'Image',
      metadata: { name: 'demo', namespace: 'default', uid: 'uid-default-demo', generation: 3, resourceVersion: '1' },
      spec: asListed.spec,
      status,
    });
  });

  it('adds no status to an Image that has none yet', () => {
    expect('status' in cachedImage(makeImage('new'))).toBe(false);
  });
});
