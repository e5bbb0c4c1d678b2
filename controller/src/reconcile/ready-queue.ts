/**
 * The checks that are due and wait for a worker, taken fairly: namespaces in turn (round robin), and
 * within a namespace its registry hosts in turn, skipping hosts already at their concurrency limit. So
 * one tenant's many Images, or one slow registry, cannot keep everyone else's checks waiting; keys of
 * one (namespace, host) run in the order they fell due.
 */

interface Place {
  namespace: string;
  host: string;
}

type Hosts = Map<string, Map<string, number>>;

export class ReadyQueue {
  /**
   * Namespace → host → key → when it fell due. Namespaces with work that have not been served since
   * they got it come first (`#fresh`, in arrival order); served ones go to the back of `#served`.
   */
  readonly #fresh = new Map<string, Hosts>();
  readonly #served = new Map<string, Hosts>();
  readonly #places = new Map<string, Place>();

  get size(): number {
    return this.#places.size;
  }

  add(key: string, due: number, place: Place): void {
    this.delete(key);
    let hosts = this.#hostsOf(place.namespace);
    if (!hosts) this.#fresh.set(place.namespace, (hosts = new Map()));
    let keys = hosts.get(place.host);
    if (!keys) hosts.set(place.host, (keys = new Map()));
    keys.set(key, due);
    this.#places.set(key, place);
  }

  delete(key: string): void {
    const place = this.#places.get(key);
    if (!place) return;
    this.#places.delete(key);
    const hosts = this.#hostsOf(place.namespace)!;
    const keys = hosts.get(place.host)!;
    keys.delete(key);
    if (keys.size === 0) hosts.delete(place.host);
    if (hosts.size === 0) {
      this.#fresh.delete(place.namespace);
      this.#served.delete(place.namespace);
    }
  }

  clear(): void {
    this.#fresh.clear();
    this.#served.clear();
    this.#places.clear();
  }

  /** The next key to run, from the first namespace in turn with a host `mayStart` allows; undefined when none. */
  take(mayStart: (host: string) => boolean): { key: string; due: number; host: string } | undefined {
    for (const namespaces of [this.#fresh, this.#served]) {
      for (const [namespace, hosts] of namespaces) {
        for (const [host, keys] of hosts) {
          if (!mayStart(host)) continue;
          const [key, due] = keys.entries().next().value!;
          this.delete(key);
          // Served: this namespace and this host go to the back of their lines.
          if (hosts.size > 0) {
            namespaces.delete(namespace);
            this.#served.set(namespace, hosts);
            if (hosts.has(host)) {
              hosts.delete(host);
              hosts.set(host, keys);
            }
          }
          return { key, due, host };
        }
      }
    }
    return undefined;
  }

  #hostsOf(namespace: string): Hosts | undefined {
    return this.#fresh.get(namespace) ?? this.#served.get(namespace);
  }
}
