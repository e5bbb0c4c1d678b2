/**
 * Command-line flags, each with an environment variable (`IMAGE_CONTROLLER_<NAME>`, for a Deployment's
 * env), a default and a help line, declared once in a table: parsing, `--help` and its test all read it.
 * A flag given on the command line wins over its environment variable. node:util's parseArgs reads argv;
 * this module adds the table, the environment layer, typed values and the help text.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration, formatDuration } from '../reconcile/duration.js';

export const ENV_PREFIX = 'IMAGE_CONTROLLER_';

type Kind = 'string' | 'duration' | 'count' | 'boolean' | 'list';
type ValueOf<K extends Kind> = K extends 'duration' | 'count' ? number : K extends 'boolean' ? boolean : K extends 'list' ? string[] : string;

export interface FlagSpec<K extends Kind = Kind> {
  kind: K;
  /** One line: what it does; the default and the environment variable are appended by `--help`. */
  help: string;
  /** Placeholder shown after the flag, e.g. `<duration>`. Booleans have none. */
  placeholder?: string;
  default?: ValueOf<K>;
  /** How `--help` shows the default when it is not a literal, e.g. `$POD_NAMESPACE`. */
  defaultText?: string;
  /** Also reads this environment variable, after `IMAGE_CONTROLLER_<NAME>` (e.g. POD_NAMESPACE from the downward API). */
  fallbackEnv?: string;
  /** Checks a parsed value; returns why it is wrong. */
  check?: (value: ValueOf<K>) => string | undefined;
}

/** One flag of any kind, so a table entry's `check` and `default` are typed by its `kind`. */
export type AnyFlagSpec = { [K in Kind]: FlagSpec<K> }[Kind];
export type FlagTable = Record<string, AnyFlagSpec>;
export type FlagValues<T extends FlagTable> = {
  [Name in keyof T]: T[Name] extends FlagSpec<infer K> ? (T[Name] extends { default: unknown } ? ValueOf<K> : ValueOf<K> | undefined) : never;
};

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

/** `requestTimeout` → `request-timeout`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `requestTimeout` → `IMAGE_CONTROLLER_REQUEST_TIMEOUT`. */
export function envName(key: string): string {
  return ENV_PREFIX + flagName(key).replace(/-/g, '_').toUpperCase();
}

/**
 * Parses `argv` with node:util's parseArgs (`--name value`, `--name=value`; `--flag` and `--no-flag` for
 * booleans; list flags repeat or take commas) over `env`. Returns the values and the positional
 * arguments; `--help`/`-h` sets `help`.
 */
export function parseFlags<T extends FlagTable>(table: T, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { values: FlagValues<T>; positional: string[]; help: boolean } {
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const [key, spec] of Object.entries(table)) options[flagName(key)] = { type: spec.kind === 'boolean' ? 'boolean' : 'string', multiple: true };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, allowNegative: true });
  } catch (error) {
    throw new FlagError(describeParseError(error, table));
  }
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const given = parsed.values[flagName(key)] as (string | boolean)[] | undefined;
    const fromEnv = env[envName(key)] ?? (spec.fallbackEnv ? env[spec.fallbackEnv] : undefined);
    const source = given ? `--${flagName(key)}` : envName(key);
    const raws = given?.map(String) ?? (fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : undefined);
    const value = raws === undefined ? spec.default : parseValue(spec, raws, source);
    const problem = value === undefined ? undefined : (spec.check as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (problem) throw new FlagError(`${source}: ${problem}`);
    values[key] = value;
  }
  return { values: values as FlagValues<T>, positional: parsed.positionals, help: parsed.values.help === true };
}

/** parseArgs' errors in this CLI's words: the flag, what is wrong, where to look. */
function describeParseError(error: unknown, table: FlagTable): string {
  const { code, message } = error as { code?: string; message?: string };
  const flag = /'(-{1,2}[^' =]+)/.exec(message ?? '')?.[1] ?? '';
  const spec = table[Object.keys(table).find((key) => `--${flagName(key)}` === flag) ?? ''];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag} (see --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (spec?.kind === 'boolean') return `${flag} takes no value; write ${flag} or --no-${flag.slice(2)}`;
      return `${flag} needs a value ${spec?.placeholder ?? ''}`.trim();
    default:
      return message ?? String(error);
  }
}

function parseValue(spec: AnyFlagSpec, raws: string[], source: string): unknown {
  if (spec.kind === 'list') return raws.flatMap((raw) => raw.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const raw = raws[raws.length - 1]!;
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new FlagError(`${source} must be true or false, not "${raw}"`);
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) throw new FlagError(`${source} must be a duration such as 10s or 1m30s, not "${raw}"`);
      return ms;
    }
    case 'count': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new FlagError(`${source} must be a whole number of at least 1, not "${raw}"`);
      return n;
    }
  }
}

/**
 * The command line that sets `values`, in the table's order, which `parseFlags` reads back as the same
 * values; keys left undefined are left out, so the controller's own default applies. List values repeat
 * their flag. The chart deploying the controller renders its props with this.
 */
export function formatFlags<T extends FlagTable>(table: T, values: Partial<FlagValues<T>>): string[] {
  const argv: string[] = [];
  for (const [key, spec] of Object.entries(table)) {
    const value = (values as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const flag = `--${flagName(key)}`;
    if (spec.kind === 'boolean') argv.push(value ? flag : `--no-${flagName(key)}`);
    else if (spec.kind === 'duration') argv.push(flag, formatDuration(value as number));
    else if (spec.kind === 'list') for (const item of value as string[]) argv.push(flag, item);
    else argv.push(flag, String(value));
  }
  return argv;
}

/** The help lines of `table`: every flag with its placeholder, help, default and environment variable. */
export function formatFlagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([key, spec]) => [`--${flagName(key)}${spec.placeholder ? ` ${spec.placeholder}` : ''}`, describe(key, spec)] as const);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
}

function describe(key: string, spec: AnyFlagSpec): string {
  const shown =
    spec.defaultText ??
    (spec.default === undefined
      ? undefined
      : spec.kind === 'duration'
        ? formatDuration(spec.default as number)
        : Array.isArray(spec.default)
          ? spec.default.join(',') || 'none'
          : String(spec.default));
  const env = [envName(key), spec.fallbackEnv].filter(Boolean).map((e) => `$${e}`).join(', ');
  return `${spec.help}${shown === undefined ? '' : ` (default ${shown})`} [${env}]`;
}
