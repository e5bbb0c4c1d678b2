/**
 * What the peer comparison's connection and request figures rest on, against a real registry: the TCP
 * pass-through counts one connection per connection a client opens (so keep-alive shows), and the
 * registry's access log is read back by method and kind of request, only between the given offsets.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startConnectionCounter, type ConnectionCounter } from '../../bench/connection-counter.js';
import { registryRequests } from '../../bench/peer.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { waitFor } from '../support/wait.js';

let registry: Registry;
let counter: ConnectionCounter;

beforeAll(async () => {
  registry = await startRegistry();
  counter = await startConnectionCounter(registry.host);
});
afterAll(async () => {
  await counter?.stop();
  await registry?.stop();
});

async function get(path: string, dispatcher: Agent, method: 'GET' | 'HEAD' = 'GET') {
  const response = await request(`http://${counter.host}${path}`, { method, dispatcher });
  await response.body.dump();
  return response.statusCode;
}

describe('the peer comparison’s counters', () => {
  it('counts one connection for requests that reuse it, and one per request that opens its own', async () => {
    const keepAlive = new Agent({ connections: 1 });
    const before = counter.accepted;
    for (let i = 0; i < 3; i++) expect(await get('/v2/', keepAlive)).toBe(200);
    expect(counter.accepted - before).toBe(1);
    expect(counter.open).toBe(1);
    await keepAlive.close();

    const between = counter.accepted;
    for (let i = 0; i < 3; i++) {
      const fresh = new Agent();
      expect(await get('/v2/', fresh)).toBe(200);
      await fresh.close();
    }
    expect(counter.accepted - between).toBe(3);
    await waitFor('every proxied connection closed', () => counter.open === 0);
  });

  it('reads the registry’s requests by method and kind from its log, between two offsets', async () => {
    const agent = new Agent();
    await get('/v2/', agent);
    await waitFor('the first request logged', () => statSync(registry.logFile).size > 0);
    const from = statSync(registry.logFile).size;
    await get('/v2/', agent);
    await get('/v2/bench/x/tags/list', agent);
    await get('/v2/bench/x/manifests/a', agent, 'HEAD');
    await get('/v2/bench/x/manifests/b', agent, 'HEAD');
    await agent.close();
    const kinds = await waitFor('four requests logged', async () => {
      const counted = await registryRequests(registry.logFile, from, statSync(registry.logFile).size);
      return Object.values(counted).reduce((a, b) => a + b, 0) === 4 && counted;
    });
    expect(kinds).toEqual({ 'GET /v2/ (ping)': 1, 'GET tags/list': 1, 'HEAD manifests': 2 });
  });
});
