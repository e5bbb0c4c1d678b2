import { describe, expect, it } from 'vitest';
import { isLoopback } from './client.js';

// The rest of the client is tested against a real registry in test/integration/resolve.test.ts.
describe('isLoopback', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:5000', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['localhost.example.com:5000', false],
    ['127.0.0.1.nip.io', false],
    ['10.0.0.1:5000', false],
    ['[::2]:5000', false],
    ['registry.example.test', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
