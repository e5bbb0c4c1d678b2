import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FlagError } from './flags.js';
import { parseResolveArguments, resolveCommand, RESOLVE_USAGE } from './resolve.js';

describe('parseResolveArguments', () => {
  const home = mkdtempSync(join(tmpdir(), 'resolve-args-'));
  const dockerConfigDir = join(home, 'docker');
  const noConfig = { HOME: home, DOCKER_CONFIG: join(home, 'absent') };
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it.each<[string, string[], NodeJS.ProcessEnv, object]>([
    ['defaults', ['localhost:5000/apps/demo'], noConfig, { reference: 'localhost:5000/apps/demo', insecure: false, timeoutMs: 10_000, caFile: undefined, dockerConfig: undefined }],
    ['flags', ['r/x', '--insecure', '--ca-file', 'ca.pem', '--docker-config=cfg.json', '--timeout', '1m30s'], noConfig,
      { reference: 'r/x', insecure: true, caFile: 'ca.pem', dockerConfig: 'cfg.json', timeoutMs: 90_000 }],
    ['environment', ['r/x'], { ...noConfig, IMAGE_CONTROLLER_INSECURE: 'true', IMAGE_CONTROLLER_CA_FILE: 'env-ca.pem', IMAGE_CONTROLLER_DOCKER_CONFIG: 'env.json', IMAGE_CONTROLLER_TIMEOUT: '500ms' },
      { insecure: true, caFile: 'env-ca.pem', dockerConfig: 'env.json', timeoutMs: 500 }],
    ['flags win over the environment', ['r/x', '--timeout', '2s'], { ...noConfig, IMAGE_CONTROLLER_TIMEOUT: '500ms' }, { timeoutMs: 2000 }],
  ])('%s', (_name, argv, env, expected) => {
    expect(parseResolveArguments(argv, env)).toMatchObject(expected);
  });

  it('reads $DOCKER_CONFIG/config.json when it exists', () => {
    const env = { HOME: home, DOCKER_CONFIG: dockerConfigDir };
    expect(parseResolveArguments(['r/x'], env)).toMatchObject({ dockerConfig: undefined });
    mkdirSync(dockerConfigDir);
    writeFileSync(join(dockerConfigDir, 'config.json'), '{}');
    expect(parseResolveArguments(['r/x'], env)).toMatchObject({ dockerConfig: join(dockerConfigDir, 'config.json') });
  });

  it('falls back to ~/.docker/config.json', () => {
    const dotDocker = join(home, '.docker');
    mkdirSync(dotDocker);
    writeFileSync(join(dotDocker, 'config.json'), '{}');
    expect(parseResolveArguments(['r/x'], { HOME: home })).toMatchObject({ dockerConfig: join(dotDocker, 'config.json') });
  });

  it.each([
    [[], 'resolve needs an image reference'],
    [['a', 'b'], 'resolve takes one image reference, not 2'],
    [['a', '--timeout', 'soon'], '--timeout must be a duration such as 10s or 1m30s, not "soon"'],
    [['a', '--timeout', '0s'], '--timeout: must be longer than 0s'],
    [['a', '--ca-file'], '--ca-file needs a value <file>'],
    [['a', '--verbose'], 'unknown flag --verbose'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseResolveArguments(argv, noConfig)).toThrow(new FlagError(message).message);
    expect(() => parseResolveArguments(argv, noConfig)).toThrow(FlagError);
  });

  it('answers --help, which names every flag and its environment variable', () => {
    expect(parseResolveArguments(['--help'], noConfig)).toBe('help');
    for (const [flag, env] of [
      ['--insecure', 'IMAGE_CONTROLLER_INSECURE'],
      ['--ca-file <file>', 'IMAGE_CONTROLLER_CA_FILE'],
      ['--docker-config <file>', 'IMAGE_CONTROLLER_DOCKER_CONFIG'],
      ['--timeout <duration>', 'IMAGE_CONTROLLER_TIMEOUT'],
    ]) {
      expect(RESOLVE_USAGE).toMatch(new RegExp(`^  ${flag} .*\\[\\$${env}\\]$`, 'm'));
    }
  });
});

describe('resolveCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resolve-command-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['malformed JSON', '{"auths":{"localhost:5000":{"password":"hunter2"}', /^CredentialsUnavailable: docker config ".*" is not valid JSON$/],
    ['a missing file', undefined, /^CredentialsUnavailable: cannot read the docker config ".*" \(ENOENT\)$/],
  ])('a docker config with %s is one line on stderr that never quotes the file, and exit 1', async (_name, content, line) => {
    const path = join(dir, `${_name}.json`);
    if (content !== undefined) writeFileSync(path, content);
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // Refused before any request: the reference's registry is never contacted.
      expect(await resolveCommand(['localhost:1/apps/demo', '--docker-config', path])).toBe(1);
      expect(stderr).toHaveBeenCalledTimes(1);
      const printed = String(stderr.mock.calls[0]?.[0]);
      expect(printed).toMatch(line);
      expect(printed).not.toContain('hunter2');
    } finally {
      stderr.mockRestore();
    }
  });
});
