/**
 * `--allowed-registries`: host globs (`*.example.com`, `localhost:5000`) a registry, and every host it
 * sends the controller to (redirects, token realms), must match. A glob without a port matches any port;
 * `*` stands for any run of characters within the host.
 */
export class HostAllowList {
  readonly #globs: { pattern: RegExp; withPort: boolean }[];

  /** An empty list allows every host. */
  constructor(globs: readonly string[]) {
    this.#globs = globs.map((glob) => ({ pattern: globPattern(glob), withPort: /:[\d*]+$/.test(glob) }));
  }

  get restricts(): boolean {
    return this.#globs.length > 0;
  }

  /** Whether `hostPort` (`host[:port]`, `[v6]:port`) matches a glob, or the list is empty. */
  allows(hostPort: string): boolean {
    return !this.restricts || this.#globs.some(({ pattern, withPort }) => pattern.test(withPort ? hostPort : hostOf(hostPort)));
  }
}

/** `host:port` → `host`; `[::1]:5000` → `::1`. */
export function hostOf(hostPort: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (bracketed) return bracketed[1]!;
  return hostPort.replace(/:\d+$/, '');
}

function globPattern(glob: string): RegExp {
  const escaped = glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`, 'i');
}
