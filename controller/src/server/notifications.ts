/**
 * The Docker distribution registry's notification envelope (`application/vnd.docker.distribution.events.v1+json`):
 * which tags were pushed. The payload is only a hint to look now: the digest it carries never reaches a
 * status (the Image's own registry is asked again); it only tells when looking again can stop.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PushedTag } from '../reconcile/check-loop.js';

export const NOTIFICATION_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

export type { PushedTag };

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

/** Compares a presented bearer token with the configured one in constant time (hashes make the lengths equal). */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented !== '';
}
