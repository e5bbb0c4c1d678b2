/**
 * A repository's tags, listed as the OCI distribution spec says: `GET /v2/<name>/tags/list?n=1000`, then
 * each page its `Link: <…>; rel="next"` names, whatever the link carries (`last`, an opaque token, a
 * relative URL, Quay's link without angle brackets), but only on the registry's own scheme, host and
 * port. Shorter pages than asked are fine. Every page is read up to a byte bound, and the listing stops
 * at a page bound and a tag bound: a registry with a million tags, a Link loop or a 100 MiB page costs
 * the controller a bounded amount, and the listing says it was cut short instead of passing for whole.
 */
import { ImageReason } from '../api/image.js';
import { RegistryError } from './errors.js';
import { errorForStatus, parseErrorBody, quote } from './failures.js';
import type { CheckSession } from './session.js';
import { header, MAX_ERROR_BODY_BYTES, retryAfter } from './transport.js';

/**
 * Tags asked for per page: the most ECR, ACR and distribution 3.1 accept (they refuse larger `n`);
 * registries that serve fewer per page (Quay: 100) are followed page by page.
 */
export const TAG_PAGE_SIZE = 1000;

export interface TagListBounds {
  /** Most tags kept; a repository with more is reported as truncated. */
  maxTags: number;
  /** Most pages asked for. */
  maxPages: number;
  /** Most bytes read of one page. */
  maxPageBytes: number;
}

/**
 * The bounds an Image gets unless it sets `spec.maxTags`: 10,000 tags (Flux's users report repositories
 * of 9,000), pages enough for 10,000 tags at Quay's 100 a page, and 1 MiB a page, seven times what a full
 * page of 1,000 tags of the longest legal length takes.
 */
export const DEFAULT_MAX_TAGS = 10_000;
export const MAX_PAGE_BYTES = 1024 * 1024;
/** Pages allowed for `maxTags` tags: enough at 100 tags a page (Quay's size), at least 10. */
export function pagesFor(maxTags: number): number {
  return Math.max(10, Math.ceil(maxTags / 100));
}

export interface TagListing {
  /** The repository's tags, in the registry's order, each a legal tag name. */
  tags: string[];
  /** Pages read. */
  pages: number;
  /** Entries the registry sent that are not legal tag names (over 128 characters, other characters): left out. */
  invalid: number;
  /** Why the listing stopped before the registry's last page, when it did; such a listing is incomplete. */
  truncated?: string;
}

/** A tag as the distribution spec defines it. */
const TAG = /^[\w][\w.-]{0,127}$/;

/** Lists `session`'s repository within `bounds`. Throws a RegistryError when not even a page could be had. */
export async function listTags(session: CheckSession, bounds: TagListBounds): Promise<TagListing> {
  const { repository } = session.ref;
  const { peer } = session.failure;
  const listing: TagListing = { tags: [], pages: 0, invalid: 0 };
  /** Pages asked for, by path and query: every page is on the registry itself. */
  const seen = new Set<string>();
  let next: string | undefined = `/v2/${repository}/tags/list?n=${TAG_PAGE_SIZE}`;
  while (next !== undefined) {
    if (listing.pages === bounds.maxPages) return truncated(listing, `the registry had more than ${bounds.maxPages} pages of tags, the most the controller asks for`);
    seen.add(next);
    const answer = await session.fetch('GET', next, { accept: 'application/json' });
    if (answer.status !== 200) throw await failedPage(session, answer);
    const body = await session.readBounded(answer, bounds.maxPageBytes);
    listing.pages++;
    if (body === undefined) return truncated(listing, `page ${listing.pages} of the tag list was larger than ${bounds.maxPageBytes} bytes, the most the controller reads`);
    const tags = pageTags(body);
    if (tags === undefined) {
      throw new RegistryError(ImageReason.RegistryUnavailable, `${peer} sent page ${listing.pages} of the tags of ${repository} in a form that is not a tag list`);
    }
    for (const tag of tags) {
      if (typeof tag !== 'string' || !TAG.test(tag)) {
        listing.invalid++;
        continue;
      }
      if (listing.tags.length === bounds.maxTags) return truncated(listing, `the repository has more than ${bounds.maxTags} tags, the most the controller lists`);
      listing.tags.push(tag);
    }
    // Resolved against the page as fetched, with the scheme the session settled on.
    const page = session.url(next);
    const link = nextLink(header(answer, 'link'), page);
    if (link === undefined) break;
    if (link.origin !== page.origin) return truncated(listing, `the registry's next page is at ${quote(link.origin)}, not on the registry itself, and is not followed`);
    next = link.pathname + link.search;
    if (seen.has(next)) return truncated(listing, `the registry's next page after page ${listing.pages} is one already listed (a Link loop)`);
  }
  return listing;
}

function truncated(listing: TagListing, why: string): TagListing {
  return { ...listing, truncated: why };
}

/** A listing's failed page: the repository is missing, or the registry's error. */
async function failedPage(session: CheckSession, answer: Awaited<ReturnType<CheckSession['fetch']>>): Promise<RegistryError> {
  const body = (await session.readBounded(answer, MAX_ERROR_BODY_BYTES))?.toString('utf8');
  const { peer } = session.failure;
  if (answer.status === 404 && parseErrorBody(body).some((entry) => entry.code === 'NAME_UNKNOWN')) {
    return new RegistryError(ImageReason.NotFound, `${peer} has no repository ${session.ref.repository}`, { httpStatus: 404 });
  }
  return errorForStatus(answer.status, retryAfter(answer), body, session.failure);
}

/** The `tags` of a page (`null` for none, as distribution sends for an empty repository), or undefined if it is not a tag list. */
function pageTags(body: Buffer): unknown[] | undefined {
  try {
    const { tags } = JSON.parse(body.toString('utf8')) as { tags?: unknown };
    if (tags === null) return [];
    return Array.isArray(tags) ? tags : undefined;
  } catch {
    return undefined;
  }
}

/** One link of a Link header: `<target>` (or a bare target, as Quay sends it), then its `; name=value` parameters. */
const LINK = /(?:<([^<>]*)>|([^\s<>;,]+))((?:\s*;\s*[\w*-]+\s*(?:=\s*(?:"[^"]*"|[^\s;,]*))?)*)/g;
const REL = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]*))/i;

/**
 * The `rel="next"` target of a Link header (RFC 8288), resolved against the page that sent it: `<url>;
 * rel="next"`, or, as Quay sends it, `url; rel="next"` without the angle brackets.
 */
export function nextLink(value: string | undefined, page: URL): URL | undefined {
  for (const [, bracketed, bare, parameters] of (value ?? '').matchAll(LINK)) {
    const rel = REL.exec(parameters!);
    if (!(rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/).includes('next')) continue;
    const target = bracketed ?? bare!;
    return URL.canParse(target, page) ? new URL(target, page) : undefined;
  }
  return undefined;
}
