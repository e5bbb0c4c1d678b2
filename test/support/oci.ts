/**
 * Images without Docker: OCI image layouts written by hand, pushed to a registry with skopeo, and the
 * digest skopeo then sees for a reference — the reference value every resolver test compares against.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './processes.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export interface ImageLayout {
  /** The layout directory. */
  dir: string;
  tag: string;
  /** `oci:DIR:TAG`, skopeo's name for the image. */
  source: string;
  /** Digest of what the tag names in the layout: the manifest, or the index of a multi-arch image. */
  digest: string;
  mediaType: typeof OCI_MANIFEST | typeof OCI_INDEX;
}

export interface LayoutOptions {
  /** @default 'latest' */
  tag?: string;
  /** Write an index with linux/amd64 and linux/arm64 images instead of one linux/amd64 image. @default false */
  multiArch?: boolean;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

/**
 * Writes an OCI image layout into `dir` (created; it should not exist yet). Every image holds a file with
 * unique content, so every call yields new digests — a re-push to the same tag moves it.
 */
export async function writeImageLayout(dir: string, options: LayoutOptions = {}): Promise<ImageLayout> {
  const tag = options.tag ?? 'latest';
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const writeBlob = async (mediaType: string, content: Buffer): Promise<Descriptor> => {
    const hex = createHash('sha256').update(content).digest('hex');
    await writeFile(join(dir, 'blobs', 'sha256', hex), content);
    return { mediaType, digest: `sha256:${hex}`, size: content.length };
  };
  const writeJson = (mediaType: string, value: object) => writeBlob(mediaType, Buffer.from(JSON.stringify(value)));

  const writeImage = async (architecture: string): Promise<Descriptor> => {
    const tar = tarWithOneFile('unique.txt', `${randomUUID()} ${architecture}\n`);
    const layer = await writeBlob('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(tar));
    const config = await writeJson('application/vnd.oci.image.config.v1+json', {
      architecture,
      os: 'linux',
      config: {},
      // diff_ids are digests of the uncompressed layers; registries and skopeo check them on conversion.
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(tar).digest('hex')}`] },
    });
    return writeJson(OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] });
  };

  let top: Descriptor;
  if (options.multiArch) {
    const manifests: Descriptor[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      manifests.push({ ...(await writeImage(architecture)), platform: { architecture, os: 'linux' } });
    }
    top = await writeJson(OCI_INDEX, { schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  } else {
    top = await writeImage('amd64');
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, tag, source: `oci:${dir}:${tag}`, digest: top.digest, mediaType: top.mediaType as ImageLayout['mediaType'] };
}

export interface SkopeoOptions {
  /** `user:password` for the registry. */
  creds?: string;
  /** Verify TLS (and use HTTPS). @default true when certDir is set, else false (plain HTTP on loopback) */
  tlsVerify?: boolean;
  /** Directory with the registry's `ca.crt`. */
  certDir?: string;
}

export interface PushOptions extends SkopeoOptions {
  /**
   * Manifest format written to the registry: `oci` keeps OCI types, `v2s2` converts to Docker schema 2
   * (with `all`, an OCI index becomes a Docker manifest list). @default as in the layout
   */
  format?: 'oci' | 'v2s2';
  /** Push every image of an index, and the index itself; without it skopeo pushes the host's platform only. */
  all?: boolean;
}

/** Pushes a layout to `destination` (`host/repository[:tag]`) with `skopeo copy`. */
export async function pushImage(layout: ImageLayout, destination: string, options: PushOptions = {}): Promise<void> {
  const args = ['copy', '--quiet', ...connectionFlags('dest-', options)];
  if (options.format) args.push('--format', options.format);
  if (options.all) args.push('--all');
  await run('skopeo', [...args, layout.source, `docker://${destination}`]);
}

/**
 * The digest skopeo sees for `reference` (`host/repository[:tag]`): the sha256 of the raw manifest the
 * registry serves, so for a multi-arch image it is the index's digest, not one platform's.
 */
export async function skopeoDigest(reference: string, options: SkopeoOptions = {}): Promise<string> {
  // Manifests are UTF-8 JSON, so hashing the decoded text as UTF-8 hashes the bytes served.
  return `sha256:${createHash('sha256').update(await inspectRaw(reference, options), 'utf8').digest('hex')}`;
}

/** The media type of the manifest the registry serves for `reference`, from skopeo's raw manifest. */
export async function skopeoMediaType(reference: string, options: SkopeoOptions = {}): Promise<string> {
  return (JSON.parse(await inspectRaw(reference, options)) as { mediaType: string }).mediaType;
}

function inspectRaw(reference: string, options: SkopeoOptions): Promise<string> {
  return run('skopeo', ['inspect', '--raw', ...connectionFlags('', options), `docker://${reference}`]);
}

function connectionFlags(prefix: '' | 'dest-', options: SkopeoOptions): string[] {
  const tlsVerify = options.tlsVerify ?? options.certDir !== undefined;
  const flags = [`--${prefix}tls-verify=${tlsVerify}`];
  if (options.certDir) flags.push(`--${prefix}cert-dir`, options.certDir);
  if (options.creds) flags.push(`--${prefix}creds`, options.creds);
  return flags;
}

/** A POSIX ustar archive holding one regular file: the smallest layer a registry and skopeo accept. */
function tarWithOneFile(name: string, content: string): Buffer {
  const data = Buffer.from(content, 'utf8');
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(data.length, 12));
  field(136, 12, octal(0, 12));
  field(156, 1, '0');
  field(257, 6, 'ustar');
  field(263, 2, '00');
  // The checksum is computed with its own field as spaces, then written as six octal digits, NUL, space.
  header.fill(' ', 148, 156);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  field(148, 8, `${octal(checksum, 7)}\0 `);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}
