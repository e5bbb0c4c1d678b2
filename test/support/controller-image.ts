/**
 * The controller image the node tests run, built from controller/Dockerfile the way a user builds it:
 * `npm run image` from the repository root, with `docker` on PATH being podman (docker-podman/docker),
 * over the base images scripts/node-base-images.sh provides (Docker Hub's where present, otherwise
 * stand-ins it makes once per machine). `npm run image` pushes to localhost:5000/apps/controller:latest,
 * which on the test node is the registry in its namespace, mirrored to the host's loopback.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Put first on PATH, it makes the README's `docker` commands run on podman. */
const DOCKER_SHIM_DIR = join(repoRoot, 'test/support/docker-podman');
const BASE_IMAGES_SCRIPT = join(repoRoot, 'scripts/node-base-images.sh');

export interface ControllerImageOptions {
  /**
   * A value for the label `org.opencontainers.image.revision`, so that a second build of the same code
   * gets a digest of its own. @default no label
   */
  revision?: string;
}

/** Makes sure the Dockerfile's base images exist, then runs `npm run image`, and returns the pushed digest. */
export async function buildControllerImage({ revision }: ControllerImageOptions = {}): Promise<string> {
  await ensureBaseImages();
  const dir = await mkdtemp(join(tmpdir(), 'e2e-controller-image-'));
  try {
    const digestFile = join(dir, 'digest');
    await run('npm', ['run', '--silent', 'image'], {
      cwd: repoRoot,
      env: {
        ...dockerShimEnv(),
        DOCKER_SHIM_DIGESTFILE: digestFile,
        ...(revision === undefined ? {} : { DOCKER_SHIM_LABEL: `org.opencontainers.image.revision=${revision}` }),
      },
    });
    return (await readFile(digestFile, 'utf8')).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The base images controller/Dockerfile builds FROM; a few minutes the first time on a machine, then none. */
export function ensureBaseImages(): Promise<string> {
  return run('bash', [BASE_IMAGES_SCRIPT]);
}

/** The environment with the docker → podman shim first on PATH. */
export function dockerShimEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${DOCKER_SHIM_DIR}:${process.env.PATH}` };
}
