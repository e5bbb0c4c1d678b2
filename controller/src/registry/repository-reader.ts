/**
 * Reading more of an Image's repository than its tag's digest, within one check session (its registry,
 * credentials, deadline and hop policy): what signature verification (signatures/) reads.
 */
import { errorForStatus } from './failures.js';
import type { CheckSession } from './session.js';
import { MAX_ERROR_BODY_BYTES, retryAfter } from './transport.js';

/** What a GET in the repository found: the body, a 404, or a body over the limit (left unread). */
export type Fetched = Buffer | 'not-found' | 'too-large';

/**
 * `path` is under `/v2/<repository>/`: `manifests/<ref>`, `blobs/<digest>`, `referrers/<digest>`.
 * Answers other than 200 and 404 throw a RegistryError with the registry's reason.
 */
export interface RepositoryReader {
  get(path: string, accept: string, maxBytes: number): Promise<Fetched>;
}

export function repositoryReader(session: CheckSession): RepositoryReader {
  return {
    async get(path, accept, maxBytes) {
      const answer = await session.fetch('GET', `/v2/${session.ref.repository}/${path}`, { accept });
      if (answer.status === 404) {
        await session.discard(answer);
        return 'not-found';
      }
      if (answer.status !== 200) {
        const body = await session.readBounded(answer, MAX_ERROR_BODY_BYTES);
        throw errorForStatus(answer.status, retryAfter(answer), body?.toString('utf8'), session.failure);
      }
      return (await session.readBounded(answer, maxBytes)) ?? 'too-large';
    },
  };
}
