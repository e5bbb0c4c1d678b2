/**
 * How one Image's tag is resolved: credentials and CA from the cluster, the host to contact (registry
 * aliases), and one shared registry request for every Image asking the same thing (the registry client
 * applies the registry policy).
 *
 * With a tag policy it is a short pipeline (DESIGN.md §2b): list the repository's tags (one listing per
 * repository and credentials per interval), choose candidates newest first, then HEAD them in turn; the
 * first that resolves (and, once signatures are checked, verifies) is the answer.
 */
import { createHash } from 'node:crypto';
import { ImageReason, type Image } from '../api/image.js';
import type { Clock } from '../clock.js';
import { DEFAULT_MAX_TAGS_CAP } from '../defaults.js';
import type { RegistryAccess } from '../kube/credentials.js';
import {
  allowsPlainHttp,
  DEFAULT_MAX_TAGS,
  MAX_PAGE_BYTES,
  pagesFor,
  RegistryError,
  type ImageReference,
  type RegistryClient,
  type ResolveOptions,
} from '../registry/index.js';
import { SharedRequests } from '../shared-requests.js';
import type { ValidSpec } from './image-record.js';
import type { Resolution } from './reconcile.js';
import { SharedTagListings } from './tag-listings.js';

export interface ImageResolverOptions {
  registry: Pick<RegistryClient, 'resolveDigest' | 'listTags'>;
  /** Credentials and CA for the Image's registry (kube/credentials.ts). */
  access(image: Image, registry: string): Promise<RegistryAccess>;
  /** The host to contact instead of the registry as named, if any (kube/local-registry.ts). */
  endpointFor(registry: string): Promise<string | undefined>;
  /** `--max-tags`: the most tags any Image's listing may hold, whatever its `spec.maxTags`. @default DEFAULT_MAX_TAGS_CAP (100,000) */
  maxTags?: number;
  /** Called once for each listing cut short by a bound, with the registry the Image names (a metric). */
  onTruncatedListing?(registry: string): void;
  clock: Clock;
}

/** Resolves `spec` for `image` from registry answers started at or after `notBefore` (epoch ms). */
export type ImageResolver = (image: Image, spec: ValidSpec, notBefore: number) => Promise<Resolution>;

/**
 * Candidates HEADed before giving up: the newest is normally the answer; the next ones cover a tag
 * deleted between the listing and its HEAD.
 */
export const MAX_CANDIDATES = 3;

/** How every registry request of `image`'s check is made: its credentials and CA, the host contacted and whether plain HTTP is allowed. */
export async function registryTarget(
  options: Pick<ImageResolverOptions, 'access' | 'endpointFor'>,
  image: Image,
  reference: ImageReference,
): Promise<{ access: RegistryAccess; endpoint?: string; insecure: boolean }> {
  const access = await options.access(image, reference.registry);
  const endpoint = await options.endpointFor(reference.registry);
  return { access, endpoint, insecure: allowsPlainHttp(image.spec.insecure, reference.registry, endpoint) };
}

export function createImageResolver(options: ImageResolverOptions): ImageResolver {
  const digests = new SharedRequests<Resolution>(options.clock);
  const listings = new SharedTagListings(options.clock);
  const maxTagsCap = options.maxTags ?? DEFAULT_MAX_TAGS_CAP;

  return async (image, spec, notBefore) => {
    const { reference } = spec;
    const { access, endpoint, insecure } = await registryTarget(options, image, reference);
    const resolveOptions: ResolveOptions = { ...access, insecure, endpoint };
    // Images share an answer only when they would send the very same request with the very same secrets,
    // named the same way: a failure's message names the Secrets it came from (or lacked an entry in).
    const asked = [
      endpoint ?? reference.endpoint,
      resolveOptions.insecure ? 'insecure' : 'tls',
      fingerprint(access.credentials),
      fingerprint(access.caPem),
      access.credentialSource ?? '-',
    ].join('|');
    const resolveTag = (tagged: ImageReference) =>
      digests.run(`${tagged.toString()}|${asked}`, notBefore, async () => {
        const { digest, mediaType, latestImage } = await options.registry.resolveDigest(tagged, resolveOptions);
        return { digest, mediaType, latestImage };
      });
    if (spec.policy === undefined) return resolveTag(reference);

    const maxTags = Math.min(spec.maxTags ?? DEFAULT_MAX_TAGS, maxTagsCap);
    const listing = await listings.run(`${reference.repositoryName}|${maxTags}|${asked}`, notBefore, async () => {
      const listed = await options.registry.listTags(reference, resolveOptions, { maxTags, maxPages: pagesFor(maxTags), maxPageBytes: MAX_PAGE_BYTES });
      if (listed.truncated !== undefined) options.onTruncatedListing?.(reference.registry);
      return listed;
    });
    const keeping = image.status?.latestImage ? `; keeping ${image.status.latestImage}` : '';
    // Retried at the interval, not backed off from 1 s: the registry answered, and only a push changes it.
    const atInterval = { retryAfterMs: spec.intervalMs };
    if (listing.truncated !== undefined) {
      throw new RegistryError(
        ImageReason.TagListTruncated,
        `the tag list of ${reference.repositoryName} is incomplete, so no tag is chosen from it: ${listing.truncated} ` +
          `(${listing.tags.length} tags in ${listing.pages} pages read; spec.maxTags raises the tag bound up to --max-tags ${maxTagsCap})${keeping}`,
        atInterval,
      );
    }
    const selection = spec.policy.select(listing.tags);
    const invalid = listing.invalid ? `, ${listing.invalid} entries that are not tags left out` : '';
    const [newest, ...older] = selection.candidates.slice(0, MAX_CANDIDATES);
    if (newest === undefined) {
      throw new RegistryError(
        ImageReason.NoMatchingTag,
        `no tag of ${reference.repositoryName} fits ${spec.policy.describe()} (${selection.summary}${invalid})${keeping}`,
        atInterval,
      );
    }
    return firstResolved([newest, ...older], async (tag) => ({ ...(await resolveTag(reference.withTag(tag))), tag }));
  };
}

/**
 * The first candidate, newest first, that `resolve` answers for. A tag gone since the listing (NotFound)
 * passes to the next; any other failure is the answer. Signature verification, when it comes, is a
 * second test here: the first candidate that resolves and verifies.
 */
async function firstResolved(candidates: readonly [string, ...string[]], resolve: (tag: string) => Promise<Resolution>): Promise<Resolution> {
  const [newest, ...older] = candidates;
  try {
    return await resolve(newest);
  } catch (error) {
    const gone = error instanceof RegistryError && error.reason === ImageReason.NotFound;
    if (!gone || older.length === 0) throw error;
    return firstResolved(older as [string, ...string[]], resolve);
  }
}

/** A one-way identity of a secret value, so keys never hold credentials themselves. */
function fingerprint(value: unknown): string {
  return value === undefined ? '-' : createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}
