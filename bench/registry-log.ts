/**
 * What a docker-registry served, from its access log (one `"METHOD PATH HTTP/1.1" STATUS` line per
 * request): counted by method and kind of request between two byte offsets of the log, so a window of
 * a benchmark sees only its own requests.
 */
import { open } from 'node:fs/promises';

/** Requests in the registry's access log between two byte offsets, by method and kind of path. */
export async function registryRequests(logFile: string, from: number, to: number): Promise<Record<string, number>> {
  const file = await open(logFile, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    await file.read(buffer, 0, buffer.length, from);
    const byKind: Record<string, number> = {};
    for (const [, method, path] of buffer.toString('utf8').matchAll(/"([A-Z]+) (\S+) HTTP\/[\d.]+" \d{3}/g)) {
      const kind = `${method} ${requestKind(path!)}`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
    return byKind;
  } finally {
    await file.close();
  }
}

function requestKind(path: string): string {
  const route = /^\/v2\/(?:.+\/)?(manifests|blobs|tags)\/[^?]*/.exec(path);
  if (route) return route[1] === 'tags' ? 'tags/list' : route[1]!;
  return path.split('?')[0] === '/v2/' ? '/v2/ (ping)' : 'other';
}
