// scripts/kind-with-registry.sh, run against stand-ins for docker, kind and kubectl that record what they
// are asked to do and keep what is written to them. The test machine has neither Docker nor kind (the node
// walkthrough test does the script's work to its own cluster instead), so this is how the script's own
// decisions are checked: the registry's address (dist/'s) and configuration, the node's containerd config,
// the ConfigMap, and --notifications' token, endpoint and restart.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing, Yaml } from 'cdk8s';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addSeedCharts } from '../../charts/seed.js';
import { repoRoot } from './manifests.js';

let dir = '';

// Each stand-in logs its command line; what it is given on stdin or by `docker cp` lands in a file.
const STAND_INS: Record<string, string> = {
  docker: `
case "$1 $2" in
  "inspect -f") [[ $3 == *Running* ]] && echo false || echo null ;;
  "cp "*) cp "$2" "$DIR/registry-config.yml" ;;
  "exec -i") cat > "$DIR/hosts.toml" ;;
esac`,
  kind: `
case "$1 $2" in
  "get nodes") echo kind-control-plane ;;
esac`,
  kubectl: `
args="$*"
case "$args" in
  *"apply -f -"*) cat > "$DIR/applied.yaml" ;;
  *"get service"*) cat "$DIR/node-port" 2>/dev/null ;;
  *"get secret"*) exit 1 ;;
  *"create secret"*) echo "\${args##*--from-literal=token=}" > "$DIR/token" ;;
esac`,
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kind-with-registry-'));
  for (const [name, body] of Object.entries(STAND_INS)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\necho "${name} $*" >> "$DIR/calls"\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the script with `args`; with `registry`, from a copy of the scripts beside a dist/ that
 * addSeedCharts wrote with that registry, as main.ts would after `npx cdk8s synth`.
 */
async function runScript(args: string[], { registry, env = {} }: { registry?: string; env?: Record<string, string> } = {}): Promise<{ calls: string[]; error?: string }> {
  let root = repoRoot;
  if (registry !== undefined) {
    root = join(dir, 'repo');
    mkdirSync(join(root, 'scripts'), { recursive: true });
    mkdirSync(join(root, 'dist'));
    for (const script of ['kind-with-registry.sh', 'dist-controller-image.mjs']) copyFileSync(join(repoRoot, 'scripts', script), join(root, 'scripts', script));
    const { controller } = addSeedCharts(Testing.app(), { registry });
    writeFileSync(join(root, 'dist/0001-image-controller.k8s.yaml'), Yaml.stringify(...controller.toJson()));
  }
  try {
    await promisify(execFile)('bash', [join(root, 'scripts/kind-with-registry.sh'), ...args], {
      env: { ...process.env, ...env, DIR: dir, PATH: `${dir}:${process.env.PATH}` },
    });
    return { calls: calls() };
  } catch (error) {
    return { calls: calls(), error: (error as { stderr?: string }).stderr ?? String(error) };
  }
}

const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []);
const written = (name: string) => readFileSync(join(dir, name), 'utf8');

it("creates kind's local registry on localhost:5000, with its images in a volume that outlives the container", async () => {
  const { calls, error } = await runScript([]);
  expect(error).toBeUndefined();
  expect(calls).toContainEqual('docker create --restart=always -p 127.0.0.1:5000:5000 --network bridge --name kind-registry -v kind-registry:/var/lib/registry registry:2');
  expect(calls.some((call) => call.startsWith('kind create cluster --name kind --config=-'))).toBe(true);
  expect(calls).toContainEqual('docker exec -i kind-control-plane cp /dev/stdin /etc/containerd/certs.d/localhost:5000/hosts.toml');
  expect(written('hosts.toml')).toBe('[host."http://kind-registry:5000"]\n');
  expect(calls).toContainEqual('docker network connect kind kind-registry');
  const config = parse(written('registry-config.yml'));
  expect(config.storage.filesystem.rootdirectory).toBe('/var/lib/registry');
  expect(config.notifications).toBeUndefined();
  const hosting = parse(parse(written('applied.yaml')).data['localRegistryHosting.v1']);
  expect(hosting).toMatchObject({ host: 'localhost:5000', hostFromClusterNetwork: 'kind-registry:5000' });
});

it('puts the registry on the port dist/ names, for the nodes and the ConfigMap too', async () => {
  const { calls, error } = await runScript([], { registry: 'localhost:5001', env: { KIND_NODE_IMAGE: 'kindest/node:v1.33.4' } });
  expect(error).toBeUndefined();
  expect(calls).toContainEqual(expect.stringContaining('docker create --restart=always -p 127.0.0.1:5001:5000 '));
  expect(calls).toContainEqual('docker exec -i kind-control-plane cp /dev/stdin /etc/containerd/certs.d/localhost:5001/hosts.toml');
  expect(calls.some((call) => call.startsWith('kind create cluster --name kind --image kindest/node:v1.33.4 '))).toBe(true);
  expect(parse(parse(written('applied.yaml')).data['localRegistryHosting.v1']).host).toBe('localhost:5001');
});

it('refuses a dist/ whose registry is not localhost:<port>, saying where to change it', async () => {
  const { calls, error } = await runScript([], { registry: 'registry.example.com:5000' });
  expect(error).toContain("kind's local registry is localhost:<port>: set addSeedCharts' registry in main.ts");
  expect(calls).toEqual([]);
});

it("--notifications: the registry posts each push to the controller's node port with a token the controller's Secret keeps", async () => {
  writeFileSync(join(dir, 'node-port'), '31234');
  const { calls, error } = await runScript(['--notifications']);
  expect(error).toBeUndefined();
  const token = written('token').trim();
  expect(token).toMatch(/^[0-9a-f]{48}$/);
  const [endpoint] = parse(written('registry-config.yml')).notifications.endpoints;
  expect(endpoint).toMatchObject({
    url: 'http://kind-control-plane:31234/notifications',
    headers: { Authorization: [`Bearer ${token}`] },
    ignore: { mediatypes: ['application/octet-stream'], actions: ['pull'] },
  });
  // The container is made again with the same volume, so the images pushed so far stay.
  expect(calls).toContainEqual('docker rm -f kind-registry');
  expect(calls).toContainEqual(expect.stringContaining('-v kind-registry:/var/lib/registry registry:2'));
  expect(calls).toContainEqual('docker network connect kind kind-registry');
  expect(calls).toContainEqual('kubectl --context kind-kind rollout restart deployment image-controller -n image-controller-system');
});

it('--notifications before dist/ is applied says so and changes nothing', async () => {
  const { calls, error } = await runScript(['--notifications']);
  expect(error).toContain('run `kubectl apply -f dist/` first');
  expect(calls.filter((call) => !call.startsWith('kubectl --context kind-kind get '))).toEqual([]);
});
