/**
 * The controller image for the e2e node, made without Docker: controller/Dockerfile's runtime stage
 * (its USER, ENV, WORKDIR, EXPOSE, ENTRYPOINT and CMD, read from the file) over one layer holding the
 * bundle `npm run build` wrote, the host's `node` binary and the shared libraries `ldd` lists for it.
 * The Dockerfile itself needs its `node:24` bases from Docker Hub, which this machine cannot reach.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushImage, skopeoDigest, writeRootfsLayout, type ImageRuntimeConfig } from './oci.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = join(repoRoot, 'controller/Dockerfile');
const BUNDLE_DIR = join(repoRoot, 'controller/dist');
/** Where node:24-slim has node; ENTRYPOINT ["node", …] finds it through PATH. */
const NODE_PATH = '/usr/local/bin/node';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ControllerImageOptions {
  /** A label in the image config, so that two builds of the same bundle get different digests. @default none */
  revision?: string;
}

/** Builds the image and pushes it to `destination` (`host/repository:tag`); returns its digest. */
export async function pushControllerImage(destination: string, { revision }: ControllerImageOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-controller-image-'));
  try {
    const runtime = runtimeStage(readFileSync(DOCKERFILE, 'utf8'));
    const layout = await writeRootfsLayout(join(dir, 'layout'), rootfsTar(join(dir, 'rootfs')), {
      ...runtime,
      Env: [`PATH=${PATH}`, ...(runtime.Env ?? [])],
      ...(revision === undefined ? {} : { Labels: { 'org.opencontainers.image.revision': revision } }),
    });
    await pushImage(layout, destination);
    return await skopeoDigest(destination);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The runtime contract of the Dockerfile's last stage. Only what that stage uses is understood: ENV with
 * `key=value` pairs (quoted or not, continued with `\`), USER, WORKDIR, EXPOSE, and ENTRYPOINT and CMD in
 * exec (JSON) form.
 */
export function runtimeStage(dockerfile: string): ImageRuntimeConfig {
  const instructions = dockerfile
    .replace(/\\\n(\s*#.*\n)*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stage = instructions.slice(instructions.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true) + 1);
  const config: ImageRuntimeConfig = {};
  for (const line of stage) {
    const [, keyword, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (keyword?.toUpperCase()) {
      case 'ENV':
        config.Env = [...(config.Env ?? []), ...[...rest.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, key, value]) => `${key}=${value.replace(/^"(.*)"$/, '$1')}`)];
        break;
      case 'USER':
        config.User = rest;
        break;
      case 'WORKDIR':
        config.WorkingDir = rest;
        break;
      case 'EXPOSE':
        config.ExposedPorts = Object.fromEntries(rest.split(/\s+/).map((port) => [port.includes('/') ? port : `${port}/tcp`, {}]));
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = JSON.parse(rest);
        break;
      case 'CMD':
        config.Cmd = JSON.parse(rest);
        break;
      default:
      // COPY is what the layer holds; nothing else in the stage changes what runs.
    }
  }
  return config;
}

/** The layer: /app as the Dockerfile's COPY makes it, node and its libraries, as a tar of real files. */
function rootfsTar(rootfs: string): Buffer {
  const link = (target: string, path: string) => {
    mkdirSync(dirname(join(rootfs, path)), { recursive: true });
    symlinkSync(target, join(rootfs, path));
  };
  // COPY --from=build /src/controller/dist/ /app/, with the package.json the build stage adds to it
  // (without it node would read the ESM bundle as CommonJS).
  for (const file of readdirSync(BUNDLE_DIR).filter((name) => name !== 'package.json')) link(join(BUNDLE_DIR, file), `app/${file}`);
  writeFileSync(join(rootfs, 'app/package.json'), '{"type":"module"}\n');
  link(process.execPath, NODE_PATH);
  for (const library of sharedLibraries(process.execPath)) link(library, library);
  // -h stores what the links point at; uid 0 owns everything, as in an image built by Docker.
  return execFileSync('tar', ['-C', rootfs, '-h', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 512 << 20 });
}

/** Absolute paths of the libraries the dynamic loader maps for `binary` (ldd's `=> /path` and the loader itself). */
function sharedLibraries(binary: string): string[] {
  return execFileSync('ldd', [binary], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}
