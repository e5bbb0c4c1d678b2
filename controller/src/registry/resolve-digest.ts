/**
 * Which digest a tag points at: `HEAD /v2/<repository>/manifests/<tag>`, and a GET of the manifest
 * (bounded) when a registry leaves the digest or media type out; a 404 is sharpened by the tag list.
 */
import { ImageReason } from '../api/image.js';
import type { Logger } from '../log.js';
import { RegistryError } from './errors.js';
import { errorForStatus, parseErrorBody, quote } from './failures.js';
import { digestOf, isDigest, isManifestMediaType, MANIFEST_ACCEPT } from './manifest.js';
import type { CheckSession } from './session.js';
import { contentType, header, MAX_ERROR_BODY_BYTES, retryAfter } from './transport.js';

export interface ResolvedDigest {
  /** `sha256:…` of the manifest, or of the index for a multi-arch image. */
  digest: string;
  mediaType: string;
  /** `registry/repository@digest`, the seed's `status.latestImage`. */
  latestImage: string;
}

/** The limit containerd and the OCI distribution spec use for manifests. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A tag list only sharpens a 404's message. */
const MAX_TAG_LIST_BYTES = 256 * 1024;
/** A few tags are enough to show which one was meant. */
const TAGS_IN_MESSAGE = 5;

/** The digest `session`'s tag points at now. Throws a `RegistryError` whose reason says what went wrong. */
export async function resolveDigest(session: CheckSession, maxManifestBytes: number, log: Logger): Promise<ResolvedDigest> {
  const { ref, failure } = session;
  const manifestPath = `/v2/${ref.repository}/manifests/${ref.tag}`;
  const accept = { accept: MANIFEST_ACCEPT };
  // The seed's log line, kept so its walkthrough still reads true.
  log.debug(`Checking digest for: ${session.url(manifestPath).href}`, { image: ref.toString() });

  const head = await session.fetch('HEAD', manifestPath, accept);
  await session.discard(head);
  if (head.status === 404) throw await notFound(session);
  if (head.status !== 200) throw errorForStatus(head.status, retryAfter(head), undefined, failure);
  let digest = header(head, 'docker-content-digest');
  let mediaType = contentType(head);

  if (digest === undefined || !isManifestMediaType(mediaType)) {
    // Some registries and proxies omit the digest on HEAD; the manifest's bytes define it.
    const get = await session.fetch('GET', manifestPath, accept);
    if (get.status !== 200) {
      const body = await session.readBounded(get, MAX_ERROR_BODY_BYTES);
      throw errorForStatus(get.status, retryAfter(get), body?.toString('utf8'), failure);
    }
    const manifest = await session.readBounded(get, maxManifestBytes);
    if (manifest === undefined) {
      throw new RegistryError(
        ImageReason.InvalidManifest,
        `${failure.peer} sent a manifest for ${failure.subject} larger than ${maxManifestBytes} bytes, the most the controller reads`,
      );
    }
    digest = digestOf(manifest);
    mediaType = contentType(get) ?? mediaTypeField(manifest);
  }

  if (!isDigest(digest)) {
    throw new RegistryError(
      ImageReason.InvalidManifest,
      `${failure.peer} sent Docker-Content-Digest ${quote(digest)} for ${failure.subject}, which is not a sha256 digest`,
    );
  }
  if (!isManifestMediaType(mediaType)) {
    throw new RegistryError(
      ImageReason.InvalidManifest,
      `${failure.peer} answered ${failure.subject} with media type ${quote(mediaType ?? '')}, ` +
        'which is not an OCI or Docker v2 image manifest or index',
    );
  }
  return { digest, mediaType, latestImage: ref.digestReference(digest) };
}

/**
 * A 404 for a manifest does not say whether the repository or the tag is missing (distribution 2.x
 * says MANIFEST_UNKNOWN for both), so ask for the repository's tags: NAME_UNKNOWN means no repository.
 */
async function notFound(session: CheckSession): Promise<RegistryError> {
  const { peer, subject } = session.failure;
  const { repository, tag } = session.ref;
  const notFound = (message: string) => new RegistryError(ImageReason.NotFound, message, { httpStatus: 404 });
  try {
    const answer = await session.fetch('GET', `/v2/${repository}/tags/list`, { accept: 'application/json' });
    const body = (await session.readBounded(answer, MAX_TAG_LIST_BYTES))?.toString('utf8');
    if (answer.status === 404 && parseErrorBody(body).some((entry) => entry.code === 'NAME_UNKNOWN')) {
      return notFound(`${peer} has no repository ${repository}`);
    }
    const tags = answer.status === 200 ? tagList(body) : undefined;
    if (tags !== undefined) {
      const shown = tags.slice(0, TAGS_IN_MESSAGE).join(', ') + (tags.length > TAGS_IN_MESSAGE ? ', …' : '');
      return notFound(`${peer} has no tag ${tag} in repository ${repository} (${tags.length ? `its tags: ${shown}` : 'it has no tags'})`);
    }
  } catch (error) {
    // The tag list only sharpens the message; failing to get it leaves the plain 404.
    if (!(error instanceof RegistryError)) throw error;
  }
  return notFound(`${peer} has no manifest for ${subject}`);
}

/** The `mediaType` a manifest declares in its body, for registries that send no Content-Type. */
function mediaTypeField(manifest: Buffer): string | undefined {
  try {
    const { mediaType } = JSON.parse(manifest.toString('utf8')) as { mediaType?: unknown };
    return typeof mediaType === 'string' ? mediaType : undefined;
  } catch {
    return undefined;
  }
}

function tagList(body: string | undefined): string[] | undefined {
  try {
    const { tags } = JSON.parse(body ?? '') as { tags?: unknown };
    if (tags === null) return [];
    return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : undefined;
  } catch {
    return undefined;
  }
}
