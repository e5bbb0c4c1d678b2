/**
 * What the controller accepts as an image manifest: the four media types it asks for, and digests.
 */
import { createHash } from 'node:crypto';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
export type ManifestMediaType = (typeof MediaType)[keyof typeof MediaType];

/**
 * The `Accept` header of a manifest request. Indexes are listed so that a registry returns a multi-arch
 * image as its index (whose digest is what `docker pull` resolves) instead of picking one platform's
 * manifest, and OCI and Docker types both so that no registry converts what it stored.
 */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set(Object.values(MediaType));

export function isManifestMediaType(value: string | undefined): value is ManifestMediaType {
  return value !== undefined && MANIFEST_MEDIA_TYPES.has(value);
}

/** Digests registries use for manifests; anything else in Docker-Content-Digest is not trusted. */
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The digest of a manifest is the sha256 of its exact bytes, as served. */
export function digestOf(manifest: Buffer): string {
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}
