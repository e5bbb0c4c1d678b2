import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStatus, describeApiError } from './client.js';
import { ApiError, kubeRest, MERGE_PATCH } from './rest.js';

const seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.url?.endsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'secrets "missing" not found', code: 404 }));
    } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: body ? JSON.parse(body) : null }));
  });
});
let config: KubeConfig;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  config = new KubeConfig();
  // client-node refuses plain HTTP unless TLS verification is off, which here it is in name only.
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'the-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('kubeRest', () => {
  it('sends the kubeconfig’s credentials and JSON, and parses the JSON answer', async () => {
    const rest = kubeRest(config);
    await expect(rest.post('/api/v1/namespaces/a/events', { reason: 'DigestResolved' })).resolves.toEqual({ echoed: { reason: 'DigestResolved' } });
    await rest.patch('/apis/example.com/v1/namespaces/a/images/web/status', { status: { digest: 'sha256:x' } }, MERGE_PATCH);
    const [post, patch] = seen.slice(-2);
    expect(post).toMatchObject({ method: 'POST', url: '/api/v1/namespaces/a/events' });
    expect(post!.headers).toMatchObject({ authorization: 'Bearer the-token', 'content-type': 'application/json', accept: 'application/json' });
    expect(patch).toMatchObject({ method: 'PATCH', body: '{"status":{"digest":"sha256:x"}}' });
    expect(patch!.headers['content-type']).toBe('application/merge-patch+json');
  });

  it('rejects a refusal with an ApiError whose code and Status body the controller’s readers understand', async () => {
    const error = await kubeRest(config).get('/api/v1/namespaces/a/secrets/missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(apiStatus(error)).toBe(404);
    expect(describeApiError(error)).toEqual({ code: 404, reason: 'NotFound', message: 'secrets "missing" not found' });
  });
});
