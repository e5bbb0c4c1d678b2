/**
 * The peer comparison's registry requests by kind (bench/registry-log.ts), read back from a real
 * registry's access log: by method and kind of request, and only between the given offsets.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { registryRequests } from '../../bench/registry-log.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { waitFor } from '../support/wait.js';

let registry: Registry;

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

async function send(path: string, dispatcher: Agent, method: 'GET' | 'HEAD' = 'GET') {
  const response = await request(`http://${registry.host}${path}`, { method, dispatcher });
  await response.body.dump();
}

describe('registryRequests', () => {
  it('counts the requests of the registry’s log by method and kind, between two offsets', async () => {
    const agent = new Agent();
    await send('/v2/', agent);
    await waitFor('the first request logged', () => statSync(registry.logFile).size > 0);
    const from = statSync(registry.logFile).size;
    await send('/v2/', agent);
    await send('/v2/bench/x/tags/list?n=100', agent);
    await send('/v2/bench/x/manifests/a', agent, 'HEAD');
    await send('/v2/bench/x/manifests/b', agent, 'HEAD');
    await agent.close();
    const kinds = await waitFor('four requests logged', async () => {
      const counted = await registryRequests(registry.logFile, from, statSync(registry.logFile).size);
      return Object.values(counted).reduce((a, b) => a + b, 0) === 4 && counted;
    });
    expect(kinds).toEqual({ 'GET /v2/ (ping)': 1, 'GET tags/list': 1, 'HEAD manifests': 2 });
  });
});
