/**
 * `image-controller resolve <ref>`: the controller's registry check, once, from a terminal — prints
 * `registry/repository@sha256:…` like `crane digest`, or one `Reason: message` line and exits 1.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REQUEST_TIMEOUT_MS } from '../defaults.js';
import {
  CredentialsError,
  credentialsFor,
  isCheckError,
  parseDockerConfig,
  parseImageReference,
  RegistryClient,
  type ResolveOptions,
} from '../registry/index.js';
import { FlagError, formatFlagHelp, parseFlags, type FlagTable } from './flags.js';

export const RESOLVE_FLAGS = {
  insecure: {
    kind: 'boolean',
    help: 'allow plain HTTP to a registry that is not on loopback',
    default: false,
  },
  caFile: {
    kind: 'string',
    placeholder: '<file>',
    help: "PEM file with the registry's CA, trusted besides the system CAs",
  },
  dockerConfig: {
    kind: 'string',
    placeholder: '<file>',
    help: 'Docker config.json whose "auths" hold the registry credentials',
    defaultText: '$DOCKER_CONFIG/config.json or ~/.docker/config.json, when present',
  },
  timeout: {
    kind: 'duration',
    placeholder: '<duration>',
    help: 'deadline for each request to the registry',
    default: REQUEST_TIMEOUT_MS,
    check: (ms) => (ms < 1 ? 'must be longer than 0s' : undefined),
  },
} satisfies FlagTable;

export const RESOLVE_USAGE = `Usage: image-controller resolve <ref> [flags]

Prints <registry>/<repository>@sha256:… for the digest the tag <ref> ([host[:port]/]path[:tag]) points at
now; for a multi-arch image, the index's digest. On failure prints one line "Reason: message" on stderr
and exits 1 (2 for a usage error).

Flags of resolve:
${formatFlagHelp(RESOLVE_FLAGS)}`;

export interface ResolveArguments {
  /** The reference as given; parsed (and reported when malformed) by the registry module. */
  reference: string;
  insecure: boolean;
  caFile?: string;
  /** The config to read: the flag's, or the default one when it exists; undefined for none. */
  dockerConfig?: string;
  timeoutMs: number;
}

/**
 * Parses `resolve`'s arguments over `env`. Returns `'help'` for `--help`; throws a `FlagError` for a
 * usage error.
 */
export function parseResolveArguments(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ResolveArguments | 'help' {
  const { values, positional, help } = parseFlags(RESOLVE_FLAGS, argv, env);
  if (help) return 'help';
  if (positional.length !== 1) {
    throw new FlagError(
      positional.length === 0 ? 'resolve needs an image reference' : `resolve takes one image reference, not ${positional.length}`,
    );
  }
  return {
    reference: positional[0],
    insecure: values.insecure,
    caFile: values.caFile,
    dockerConfig: values.dockerConfig ?? defaultDockerConfig(env),
    timeoutMs: values.timeout,
  };
}

/** Where `docker login` writes, when it has written. */
function defaultDockerConfig(env: NodeJS.ProcessEnv): string | undefined {
  const path = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  return existsSync(path) ? path : undefined;
}

export async function resolveCommand(argv: string[]): Promise<number> {
  let args: ResolveArguments | 'help';
  try {
    args = parseResolveArguments(argv);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`UsageError: ${error.message} (see image-controller resolve --help)`);
    return 2;
  }
  if (args === 'help') {
    console.log(RESOLVE_USAGE);
    return 0;
  }

  const client = new RegistryClient({ requestTimeoutMs: args.timeoutMs });
  try {
    const reference = parseImageReference(args.reference);
    const { latestImage } = await client.resolveDigest(reference, await resolveOptions(args, reference.registry));
    console.log(latestImage);
    return 0;
  } catch (error) {
    if (!isCheckError(error)) throw error;
    console.error(`${error.reason}: ${error.message}`);
    return 1;
  } finally {
    await client.close();
  }
}

async function resolveOptions(args: ResolveArguments, registry: string): Promise<ResolveOptions> {
  const options: ResolveOptions = { insecure: args.insecure };
  if (args.caFile !== undefined) options.caPem = await readConfigFile(args.caFile, 'CA file');
  if (args.dockerConfig !== undefined) {
    const source = `docker config ${JSON.stringify(args.dockerConfig)}`;
    const config = parseDockerConfig(await readConfigFile(args.dockerConfig, 'docker config'), source);
    options.credentials = credentialsFor(config, registry);
    options.credentialSource = source;
  }
  return options;
}

async function readConfigFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CredentialsError(`cannot read the ${what} ${JSON.stringify(path)} (${reason})`);
  }
}
