/**
 * Small helpers the resilience tests share: creating Images directly (no Cartographer), reading their
 * Ready condition, and pushing to a registry other than the system's own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image, ImageCondition, ImageSpec } from '../../controller/src/api/image.js';
import { pushImage, skopeoDigest, writeImageLayout, type SkopeoOptions } from '../support/oci.js';
import type { SupplyChainSystem } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';

export function readyOf(image: Image | undefined): ImageCondition | undefined {
  return image?.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** Creates (or replaces the spec of) Image `default/name`. */
export async function createImage(system: SupplyChainSystem, name: string, spec: ImageSpec, namespace = 'default'): Promise<void> {
  await system.apply({ apiVersion: 'example.com/v1', kind: 'Image', metadata: { name, namespace }, spec });
}

/** Waits until the Image's Ready condition matches `expected` (status and reason) and returns the Image. */
export async function waitForReady(
  system: SupplyChainSystem,
  name: string,
  expected: { status: ImageCondition['status']; reason: string },
  { namespace = 'default', timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<Image> {
  return waitFor(
    `Image ${namespace}/${name} Ready=${expected.status} ${expected.reason}`,
    async () => {
      const image = await system.image(name, namespace);
      const ready = readyOf(image);
      if (ready?.status === expected.status && ready.reason === expected.reason) return image;
      throw new Error(`Ready is ${JSON.stringify(ready ?? null)}`);
    },
    { timeoutMs, intervalMs, abortIf: () => system.controller?.process.assertRunning() },
  );
}

/** Pushes a new image to `host/repository:tag` of any registry; resolves with skopeo's digest for it. */
export async function pushTo(host: string, repository: string, options: SkopeoOptions & { tag?: string } = {}): Promise<string> {
  const tag = options.tag ?? 'latest';
  const dir = await mkdtemp(join(tmpdir(), 'resilience-image-'));
  try {
    const layout = await writeImageLayout(join(dir, randomBytes(4).toString('hex')), { tag });
    await pushImage(layout, `${host}/${repository}:${tag}`, options);
    return await skopeoDigest(`${host}/${repository}:${tag}`, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A `kubernetes.io/dockerconfigjson` Secret giving `username:password` for `registry`. */
export function dockerConfigSecret(name: string, registry: string, username: string, password: string, namespace = 'default'): object {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  const config = { auths: { [registry]: { username, password, auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

/** The message of a rejected promise (kubectl's stderr is in it). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the command to be refused, and it succeeded');
}
