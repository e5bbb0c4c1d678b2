import { describe, expect, it } from 'vitest';
import { envName, flagName, formatFlagHelp, formatFlags, parseFlags } from './flags.js';
import { RUN_FLAGS } from './run-flags.js';

describe('run flags', () => {
  const help = formatFlagHelp(RUN_FLAGS);

  it.each(Object.keys(RUN_FLAGS))('--help documents %s with its environment variable and default', (key) => {
    const spec = RUN_FLAGS[key as keyof typeof RUN_FLAGS];
    const line = help.split('\n').find((l) => l.trimStart().startsWith(`--${flagName(key)}`));
    expect(line, `--${flagName(key)} is missing from --help`).toBeDefined();
    expect(spec.help.length).toBeGreaterThan(10);
    expect(line).toContain(`$${envName(key)}`);
    if ('default' in spec || 'defaultText' in spec) expect(line).toContain('(default ');
  });

  it('has the defaults the seed and the chart rely on', () => {
    const { values } = parseFlags(RUN_FLAGS, [], {});
    expect(values).toMatchObject({ interval: 10_000, concurrency: 16, requestTimeout: 10_000, httpAddress: ':8080', leaderElect: false, logLevel: 'info', registryAlias: [], allowedRegistries: [] });
    expect(values.namespace).toBeUndefined();
    expect(help).toContain('--interval <duration>');
    expect(help).toMatch(/--interval .*\(default 10s\)/);
  });

  it('reads environment variables, and flags win over them', () => {
    const env = { IMAGE_CONTROLLER_INTERVAL: '1m', IMAGE_CONTROLLER_LEADER_ELECT: 'true', IMAGE_CONTROLLER_REGISTRY_ALIAS: 'a:5000=b:5000,c=d', POD_NAMESPACE: 'image-system' };
    const { values } = parseFlags(RUN_FLAGS, ['--interval=30s', '--concurrency', '4'], env);
    expect(values).toMatchObject({ interval: 30_000, concurrency: 4, leaderElect: true, leaseNamespace: 'image-system', registryAlias: ['a:5000=b:5000', 'c=d'] });
  });

  it('turns a boolean off with --no-<flag>, over its environment variable', () => {
    expect(parseFlags(RUN_FLAGS, ['--no-leader-elect'], { IMAGE_CONTROLLER_LEADER_ELECT: 'true' }).values.leaderElect).toBe(false);
    expect(parseFlags(RUN_FLAGS, ['--leader-elect'], {}).values.leaderElect).toBe(true);
    expect(parseFlags(RUN_FLAGS, ['-h'], {}).help).toBe(true);
  });

  it('repeats list flags and splits commas', () => {
    const { values } = parseFlags(RUN_FLAGS, ['--registry-alias', 'a=b', '--registry-alias=c=d', '--allowed-registries', 'localhost:5000, *.example.com'], {});
    expect(values.registryAlias).toEqual(['a=b', 'c=d']);
    expect(values.allowedRegistries).toEqual(['localhost:5000', '*.example.com']);
  });

  it.each([
    [['--bogus'], /unknown flag --bogus/],
    [['--interval', 'soon'], /--interval must be a duration/],
    [['--interval', '500ms'], /--interval: must be at least 1s/],
    [['--concurrency', '0'], /--concurrency must be a whole number/],
    [['--log-level', 'loud'], /--log-level: must be debug, info, warn or error/],
    [['--log-level', 'toString'], /--log-level: must be debug, info, warn or error/],
    [['--leader-elect=maybe'], /--leader-elect takes no value; write --leader-elect or --no-leader-elect/],
    [['-x'], /unknown flag -x/],
    [['--namespace'], /--namespace needs a value/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseFlags(RUN_FLAGS, argv, {})).toThrow(message);
  });

  it('names environment variables after the flag', () => {
    expect(envName('requestTimeout')).toBe('IMAGE_CONTROLLER_REQUEST_TIMEOUT');
    expect(flagName('allowedRegistries')).toBe('allowed-registries');
  });
});

describe('formatFlags', () => {
  it('writes the command line that parseFlags reads back as the same values, leaving out what is unset', () => {
    const values = { interval: 90_000, concurrency: 4, leaderElect: true, logLevel: 'debug', registryAlias: ['a:5000=b:5000', 'c=d'], allowedRegistries: ['localhost:5000'], namespace: 'apps' };
    const argv = formatFlags(RUN_FLAGS, values);
    expect(argv).toEqual(['--namespace', 'apps', '--interval', '1m30s', '--concurrency', '4', '--leader-elect', '--registry-alias', 'a:5000=b:5000', '--registry-alias', 'c=d', '--log-level', 'debug', '--allowed-registries', 'localhost:5000']);
    expect(parseFlags(RUN_FLAGS, argv, {}).values).toMatchObject(values);
  });

  it('turns a boolean off with --no-<flag>, and writes nothing for no values', () => {
    expect(formatFlags(RUN_FLAGS, { leaderElect: false })).toEqual(['--no-leader-elect']);
    expect(formatFlags(RUN_FLAGS, {})).toEqual([]);
  });
});
