import { describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { credentialsFor, parseDockerConfig } from './docker-config.js';

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

describe('credentialsFor', () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: auth('hub-user', 'hub-pass') },
        'localhost:5000': { username: 'local', password: 'pw' },
        'https://ghcr.io': { auth: auth('gh', 'tok:en') },
        'registry.example.com:8443/v2/': { auth: auth('ex', 'pw'), identitytoken: 'refresh-me' },
        'UPPER.example.com': { auth: auth('up', 'pw') },
        'empty.example.com': {},
      },
    }),
    'pull secret "regcred"',
  );

  it.each([
    ['index.docker.io', { username: 'hub-user', password: 'hub-pass' }],
    ['localhost:5000', { username: 'local', password: 'pw' }],
    ['ghcr.io', { username: 'gh', password: 'tok:en' }],
    ['registry.example.com:8443', { username: 'ex', password: 'pw', identityToken: 'refresh-me' }],
    ['upper.example.com', { username: 'up', password: 'pw' }],
    ['localhost:5001', undefined],
    ['registry.example.com', undefined],
    ['empty.example.com', undefined],
  ])('%s', (registry, expected) => {
    expect(credentialsFor(config, registry)).toEqual(expected);
  });

  it.each(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'])(
    'finds Docker Hub credentials written as %s',
    (key) => {
      const hub = parseDockerConfig(JSON.stringify({ auths: { [key]: { auth: auth('u', 'p') } } }), 'config');
      expect(credentialsFor(hub, 'index.docker.io')).toEqual({ username: 'u', password: 'p' });
    },
  );

  it('prefers the first entry for a host written twice', () => {
    const twice = parseDockerConfig(
      JSON.stringify({ auths: { 'https://r.example': { auth: auth('first', 'p') }, 'r.example': { auth: auth('second', 'p') } } }),
      'config',
    );
    expect(credentialsFor(twice, 'r.example')?.username).toBe('first');
  });

  it('reads a config without auths (credential helpers only) as empty', () => {
    expect(credentialsFor(parseDockerConfig('{"credsStore":"desktop"}', 'config'), 'index.docker.io')).toBeUndefined();
  });
});

describe('parseDockerConfig', () => {
  it.each([
    ['not JSON', '{auths', 'pull secret "regcred" is not valid JSON'],
    ['an array', '[]', 'pull secret "regcred" is not a JSON object'],
    ['auths not an object', '{"auths":"x"}', 'has an "auths" that is not an object'],
    ['entry not an object', '{"auths":{"r":"x"}}', 'has an entry for "r" that is not an object'],
    ['auth without a colon', `{"auths":{"r":{"auth":"${Buffer.from('nocolon').toString('base64')}"}}}`, 'has an "auth" for "r" that is not base64 of user:password'],
  ])('refuses %s', (_name, content, message) => {
    expect(() => parseDockerConfig(content, 'pull secret "regcred"')).toThrow(
      expect.objectContaining({ reason: ImageReason.CredentialsUnavailable, message: expect.stringContaining(message) }),
    );
  });
});
