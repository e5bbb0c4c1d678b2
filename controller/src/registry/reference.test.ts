import { describe, expect, it } from 'vitest';
import { ImageReason } from '../api/image.js';
import { RegistryError } from './errors.js';
import { parseImageReference } from './reference.js';

describe('parseImageReference', () => {
  it.each([
    // input, registry, repository, tag
    ['localhost:5000/apps/demo', 'localhost:5000', 'apps/demo', 'latest'],
    ['localhost:5000/apps/demo:v1.2.3', 'localhost:5000', 'apps/demo', 'v1.2.3'],
    ['localhost/apps/demo', 'localhost', 'apps/demo', 'latest'],
    ['127.0.0.1:5000/demo:latest', '127.0.0.1:5000', 'demo', 'latest'],
    ['[::1]:5000/apps/demo:1', '[::1]:5000', 'apps/demo', '1'],
    ['[fe80::1]/demo', '[fe80::1]', 'demo', 'latest'],
    ['nginx', 'index.docker.io', 'library/nginx', 'latest'],
    ['nginx:stable-alpine', 'index.docker.io', 'library/nginx', 'stable-alpine'],
    ['bitnami/redis:7.2', 'index.docker.io', 'bitnami/redis', '7.2'],
    ['docker.io/nginx', 'index.docker.io', 'library/nginx', 'latest'],
    ['docker.io/library/nginx:1', 'index.docker.io', 'library/nginx', '1'],
    ['index.docker.io/nginx', 'index.docker.io', 'library/nginx', 'latest'],
    ['index.docker.io/bitnami/redis', 'index.docker.io', 'bitnami/redis', 'latest'],
    ['ghcr.io/org/team/app:sha-abc', 'ghcr.io', 'org/team/app', 'sha-abc'],
    ['registry.example.com:443/a/b/c/d', 'registry.example.com:443', 'a/b/c/d', 'latest'],
    ['my-registry.local:5000/app_1.x/web-ui__v2:TAG_1.0-rc', 'my-registry.local:5000', 'app_1.x/web-ui__v2', 'TAG_1.0-rc'],
    ['Registry.Example.com/app', 'Registry.Example.com', 'app', 'latest'],
    ['a---b/c', 'index.docker.io', 'a---b/c', 'latest'],
    ['localhost:5000', 'index.docker.io', 'library/localhost', '5000'],
    ['app:_underscore', 'index.docker.io', 'library/app', '_underscore'],
    [`example.com/app:${'t'.repeat(128)}`, 'example.com', 'app', 't'.repeat(128)],
  ])('%s → %s / %s : %s', (input, registry, repository, tag) => {
    const reference = parseImageReference(input);
    expect({ registry: reference.registry, repository: reference.repository, tag: reference.tag }).toEqual({
      registry,
      repository,
      tag,
    });
    expect(parseImageReference(reference.toString()).toString()).toBe(reference.toString());
  });

  it.each([
    // input, what the message must say
    ['', 'it is empty'],
    ['localhost:5000/apps/demo@sha256:' + 'a'.repeat(64), 'a digest never moves, so there is nothing to watch'],
    ['localhost:5000/apps/demo:v1@sha256:' + 'a'.repeat(64), 'watch a tag such as "localhost:5000/apps/demo:v1"'],
    ['sha256:' + 'a'.repeat(64), 'it is a digest, and a digest never moves'],
    ['sha512:' + 'b'.repeat(128), 'it is a digest, and a digest never moves'],
    ['c'.repeat(64), 'it is a digest, and a digest never moves'],
    ['https://localhost:5000/apps/demo', 'write it without the scheme, as "localhost:5000/apps/demo"'],
    ['http://registry.example.com/app', 'without the scheme'],
    ['localhost:5000/Apps/demo', 'repository paths must be lowercase; write "apps/demo"'],
    ['localhost:5000/apps/Demo:v1', 'must be lowercase'],
    ['localhost:5000/apps demo', 'whitespace'],
    [' nginx', 'whitespace'],
    ['nginx\t', 'whitespace'],
    ['localhost:5000/äpps/demo', 'plain ASCII'],
    ['localhost:5000/apps/demo:tag☃', 'plain ASCII'],
    ['localhost:5000/', 'the repository path is empty'],
    ['localhost:5000/apps//demo', 'is not a valid path component'],
    ['localhost:5000/apps/demo/', 'is not a valid path component'],
    ['localhost:5000/-apps/demo', 'is not a valid path component'],
    ['localhost:5000/apps/demo.', 'is not a valid path component'],
    ['localhost:5000/apps..x/demo', 'is not a valid path component'],
    ['localhost:5000/apps/demo:', 'is not a valid tag'],
    ['localhost:5000/apps/demo:.hidden', 'is not a valid tag'],
    ['localhost:5000/apps/demo:-x', 'is not a valid tag'],
    ['localhost:5000/apps/demo:a:b', 'is not a valid tag'],
    [`example.com/app:${'t'.repeat(129)}`, 'is not a valid tag'],
    ['localhost:99999/demo', 'port 99999 is out of range'],
    ['local_host:5000/demo', 'is not a registry host'],
    ['-bad.example.com/demo', 'is not a registry host'],
    [`example.com/${'a'.repeat(250)}`, 'the name is 262 characters long; registries accept at most 255'],
  ])('rejects %j', (input, expected) => {
    let thrown: unknown;
    try {
      parseImageReference(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RegistryError);
    const error = thrown as RegistryError;
    expect(error.reason).toBe(ImageReason.InvalidSpec);
    expect(error.message).toContain(expected);
    expect(error.message.startsWith(`${JSON.stringify(input.length > 100 ? input.slice(0, 100) + '…' : input)} is not a valid image reference: `)).toBe(true);
  });

  it('shortens a very long input in the message', () => {
    expect(() => parseImageReference('x'.repeat(10_000) + ' ')).toThrow(/^"x{100}…" is not a valid image reference: it contains whitespace$/);
  });

  it('reports digests in the form status.latestImage holds', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(parseImageReference('localhost:5000/apps/demo').digestReference(digest)).toBe(`localhost:5000/apps/demo@${digest}`);
    expect(parseImageReference('nginx:1').digestReference(digest)).toBe(`index.docker.io/library/nginx@${digest}`);
  });

  it.each([
    ['nginx', 'registry-1.docker.io'],
    ['docker.io/bitnami/redis', 'registry-1.docker.io'],
    ['localhost:5000/apps/demo', 'localhost:5000'],
    ['[::1]:5000/demo', '[::1]:5000'],
  ])('%s is requested from %s', (input, endpoint) => {
    expect(parseImageReference(input).endpoint).toBe(endpoint);
  });
});
