/**
 * The Docker distribution registry's notification envelope (`application/vnd.docker.distribution.events.v1+json`):
 * which tags were pushed. The payload is only a hint to look now: the digest it carries never reaches a
 * status (the Image's own registry is asked again); it only tells when looking again can stop.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Image } from '../api/image.js';
import type { ImageReference } from '../registry/index.js';

export const NOTIFICATION_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

export interface PushedTag {
  repository: string;
  tag: string;
  /** The digest the event says was pushed, when it says one. */
  digest?: string;
}

/** The tags pushed according to `body`, or undefined when it is not a notification envelope. */
export function parsePushedTags(body: string): PushedTag[] | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return undefined;
  }
  const events = (envelope as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return undefined;
  const pushed: PushedTag[] = [];
  for (const event of events as { action?: unknown; target?: { repository?: unknown; tag?: unknown; digest?: unknown } }[]) {
    const { repository, tag, digest } = event?.target ?? {};
    // Blob pushes and pushes by digest carry no tag: nothing an Image watches moved.
    if (event?.action === 'push' && typeof repository === 'string' && typeof tag === 'string' && tag !== '') {
      pushed.push({ repository, tag, ...(typeof digest === 'string' ? { digest } : {}) });
    }
  }
  return pushed;
}

/**
 * True when an Image on `reference` watches a pushed tag. The registry host is not compared: the pusher's host (the
 * event's `request.host`) is often another name for the same registry (kind's `localhost:5000` is
 * `kind-registry:5000` inside the cluster), and a needless re-check costs one shared HEAD.
 */
export function watchesPushedTag(reference: Pick<ImageReference, 'repository' | 'tag'>, pushed: readonly PushedTag[]): boolean {
  return pushed.some((p) => p.repository === reference.repository && p.tag === reference.tag);
}

/** True when `image`'s status already shows the digest `pushed` announced: looking again can stop. */
export function showsPushedDigest(image: Image, pushed: PushedTag): boolean {
  return pushed.digest !== undefined && image.status?.digest === pushed.digest;
}

/** Compares a presented bearer token with the configured one in constant time (hashes make the lengths equal). */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented !== '';
}
