/**
 * Images without Docker: OCI image layouts written by hand, pushed to a registry with skopeo, and the
 * digest skopeo then sees for a reference — the reference value every resolver test compares against.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
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
  /**
   * Make images a node can run: Debian's static busybox serving HTTP on 8080 as uid 65532, as the image's entrypoint.
   * Each image still has its unique file, `/unique.txt` (`<uuid> <architecture>`). @default false
   */
  runnable?: boolean;
}

/** The static busybox of Debian's busybox-static: one file, no libraries. */
const BUSYBOX = '/bin/busybox';
/**
 * The shell is PID 1 and exits on SIGTERM (busybox's applets as PID 1 ignore it, so every Pod would take
 * its whole grace period to stop).
 */
const RUNNABLE_ENTRYPOINT = ['/busybox', 'sh', '-c', "trap 'exit 0' TERM; /busybox httpd -f -p 8080 -h / & wait"];
/** Not root, so that Pods with runAsNonRoot (cdk8s-plus's default, as in examples/web-service.ts) run it. */
const RUNNABLE_USER = '65532:65532';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

/** What a container runs, as an OCI image config's `config` says it (a Dockerfile's USER and ENTRYPOINT). */
export interface ImageRuntimeConfig {
  User?: string;
  Entrypoint?: string[];
}

/**
 * Writes an OCI image layout into `dir` (created; it should not exist yet). Every image holds a file with
 * unique content, so every call yields new digests — a re-push to the same tag moves it.
 */
export async function writeImageLayout(dir: string, options: LayoutOptions = {}): Promise<ImageLayout> {
  const blobs = await blobWriter(dir);
  const busybox = options.runnable ? [{ name: 'busybox', content: await readFile(BUSYBOX), mode: 0o755 }] : [];
  const uniqueImage = (architecture: string) =>
    writeImage(
      blobs,
      architecture,
      gzipSync(tar([{ name: 'unique.txt', content: Buffer.from(`${randomUUID()} ${architecture}\n`), mode: 0o644 }, ...busybox])),
      options.runnable ? { User: RUNNABLE_USER, Entrypoint: RUNNABLE_ENTRYPOINT } : {},
    );

  let top: Descriptor;
  if (options.multiArch) {
    const manifests: Descriptor[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      manifests.push({ ...(await uniqueImage(architecture)), platform: { architecture, os: 'linux' } });
    }
    top = await blobs.writeJson(OCI_INDEX, { schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  } else {
    top = await uniqueImage('amd64');
  }
  return finishLayout(dir, top, options.tag ?? 'latest');
}

/**
 * Writes a linux/amd64 OCI image layout into `dir` whose one layer is `layer` (an uncompressed tar, which
 * containerd unpacks as it is: no time spent compressing a 100 MB node binary for a local registry).
 */
export async function writeRootfsLayout(dir: string, layer: Buffer, runtime: ImageRuntimeConfig, tag = 'latest'): Promise<ImageLayout> {
  const blobs = await blobWriter(dir);
  return finishLayout(dir, await writeImage(blobs, 'amd64', layer, runtime), tag);
}

interface BlobWriter {
  write(mediaType: string, content: Buffer): Promise<Descriptor>;
  writeJson(mediaType: string, value: object): Promise<Descriptor>;
}

async function blobWriter(dir: string): Promise<BlobWriter> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const write = async (mediaType: string, content: Buffer): Promise<Descriptor> => {
    const hex = sha256Hex(content);
    await writeFile(join(dir, 'blobs', 'sha256', hex), content);
    return { mediaType, digest: `sha256:${hex}`, size: content.length };
  };
  return { write, writeJson: (mediaType, value) => write(mediaType, Buffer.from(JSON.stringify(value))) };
}

/** One image: `layer` is a gzip tar (it starts with gzip's magic bytes) or a plain one. */
async function writeImage(blobs: BlobWriter, architecture: string, layer: Buffer, runtime: ImageRuntimeConfig): Promise<Descriptor> {
  const gzipped = layer[0] === 0x1f && layer[1] === 0x8b;
  const tar = gzipped ? gunzipSync(layer) : layer;
  const layerDescriptor = await blobs.write(`application/vnd.oci.image.layer.v1.tar${gzipped ? '+gzip' : ''}`, layer);
  const config = await blobs.writeJson('application/vnd.oci.image.config.v1+json', {
    architecture,
    os: 'linux',
    config: runtime,
    // diff_ids are digests of the uncompressed layers; registries and skopeo check them on conversion.
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Hex(tar)}`] },
  });
  return blobs.writeJson(OCI_MANIFEST, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layerDescriptor] });
}

async function finishLayout(dir: string, top: Descriptor, tag: string): Promise<ImageLayout> {
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

function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
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

interface TarEntry {
  name: string;
  content: Buffer;
  mode: number;
}

/** A POSIX ustar archive of regular files in its root (one file is the smallest layer a registry and skopeo accept). */
function tar(entries: TarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(tarFile), Buffer.alloc(1024)]);
}

function tarFile({ name, content: data, mode }: TarEntry): Buffer[] {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
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
  return [header, data, padding];
}
