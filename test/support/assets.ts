// Where the e2e binaries live and which versions they are. scripts/e2e-setup.sh builds them; this
// module finds them the same way (it asks the script for the directory) and never builds anything.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const setupScript = join(repoRoot, 'scripts/e2e-setup.sh');
const toolsDir = join(repoRoot, 'test/e2e/tools');

export const BINARY_NAMES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'cartographer',
  'ytt',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'pause',
] as const;
export type BinaryName = (typeof BINARY_NAMES)[number];

export interface Assets {
  /** Absolute path of each binary. */
  binaries: Record<BinaryName, string>;
  /** The pinned versions, as written in test/e2e/tools/versions.env. */
  versions: Record<string, string>;
}

/** Each binary from KUBEBUILDER_ASSETS when it has it (envtest's convention), else from the setup dir. */
export async function findAssets(): Promise<Assets> {
  const setupDir = await assetDir();
  const overrideDir = process.env.KUBEBUILDER_ASSETS;
  const binaries = {} as Record<BinaryName, string>;
  const missing: string[] = [];
  for (const name of BINARY_NAMES) {
    const override = overrideDir ? join(overrideDir, name) : undefined;
    binaries[name] = override && existsSync(override) ? override : join(setupDir, name);
    if (!existsSync(binaries[name])) missing.push(name);
  }
  if (missing.length > 0) {
    throw new Error(`e2e binaries missing (${missing.join(', ')}) in ${setupDir}: run scripts/e2e-setup.sh`);
  }
  return { binaries, versions: readPinnedVersions() };
}

/** The directory scripts/e2e-setup.sh builds into. */
export async function assetDir(): Promise<string> {
  return (await run('bash', [setupScript, '--print-dir'])).trim();
}

export function readPinnedVersions(): Record<string, string> {
  const text = readFileSync(join(toolsDir, 'versions.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z_]+)=(\S+)$/.exec(line.trim()))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]),
  );
}

/** One line per binary, each version asked of the binary itself where it can say it. */
export async function describeVersions({ binaries, versions }: Assets): Promise<string> {
  // `Kubernetes v1.33.13`, `etcd Version: 3.5.35`, `ytt version 0.53.0`: the version is the last word.
  const reported = async (name: BinaryName, args: string[]) =>
    (await run(binaries[name], args)).split('\n')[0].trim().split(/\s+/).pop();
  const kubectlVersion = JSON.parse(await run(binaries.kubectl, ['version', '--client', '-o', 'json']));
  return [
    `kube-apiserver ${await reported('kube-apiserver', ['--version'])}`,
    `kube-controller-manager ${await reported('kube-controller-manager', ['--version'])}`,
    `kubectl ${kubectlVersion.clientVersion.gitVersion}`,
    `etcd ${await reported('etcd', ['--version'])}`,
    `cartographer ${versions.CARTOGRAPHER_VERSION} (pinned; the binary has no version flag)`,
    `ytt ${await reported('ytt', ['version'])}`,
    `kube-scheduler ${await reported('kube-scheduler', ['--version'])}`,
    `kubelet ${await reported('kubelet', ['--version'])}`,
    `kube-proxy ${await reported('kube-proxy', ['--version'])}`,
    // `pause.c v3.10.1`
    `pause ${await reported('pause', ['-v'])}`,
  ]
    .map((line) => `  ${line}`)
    .join('\n');
}

/**
 * Cartographer's CRDs and RBAC ship in its Go module, so they are read from the module cache at the
 * version the tool module pins (resolved against its go.sum, so no checksum-database lookup).
 */
export async function cartographerConfigDir(): Promise<string> {
  return join(await toolModuleDownload('cartographer', 'github.com/vmware-tanzu/cartographer'), 'config');
}

/** Where `module`, at the version the tool module `test/e2e/tools/<toolModule>` pins, is in the module cache (downloaded if need be). */
export async function toolModuleDownload(toolModule: string, module: string): Promise<string> {
  const download = await run(goCommand(), ['mod', 'download', '-json', module], {
    cwd: join(toolsDir, toolModule),
    env: { ...process.env, GOTOOLCHAIN: 'local' },
  });
  return (JSON.parse(download) as { Dir: string }).Dir;
}

/** `go` from PATH, else the standard install location (as scripts/e2e-setup.sh looks for it). */
function goCommand(): string {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'go'))
    .find((candidate) => existsSync(candidate));
  return onPath ?? '/usr/local/go/bin/go';
}
