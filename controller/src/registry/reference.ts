/**
 * Tag references to watch, `[host[:port]/]path[:tag]`, parsed by the distribution reference grammar
 * (github.com/distribution/reference) with Docker Hub short names normalized the way `docker pull` does.
 */
import { ImageReason } from '../api/image.js';
import { RegistryError } from './errors.js';

/** Docker Hub as references name it; `docker.io/…` and bare names normalize to it. */
export const DOCKER_HUB_REGISTRY = 'index.docker.io';
/** Docker Hub's registry API is served from another host than the one references name. */
export const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', DOCKER_HUB_REGISTRY]);
/** Single-name Docker Hub images live under `library/` (`nginx` is `library/nginx`). */
const OFFICIAL_REPOSITORY_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** distribution's NameTotalLengthMax: registry host plus repository path. */
const MAX_NAME_LENGTH = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::([0-9]+))?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;

export class ImageReference {
  /** The registry as the reference names it, e.g. `localhost:5000`, `[::1]:5000`, `index.docker.io`. */
  readonly registry: string;
  /** The repository path, e.g. `apps/demo`, `library/nginx`. */
  readonly repository: string;
  readonly tag: string;

  constructor(registry: string, repository: string, tag: string) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
  }

  /** `host[:port]` the registry API is served from: the registry itself, except for Docker Hub. */
  get endpoint(): string {
    return this.registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_ENDPOINT : this.registry;
  }

  /** `registry/repository:tag`, the normalized form of what was parsed. */
  toString(): string {
    return `${this.registry}/${this.repository}:${this.tag}`;
  }

  /** The same repository at `tag`. */
  withTag(tag: string): ImageReference {
    return new ImageReference(this.registry, this.repository, tag);
  }

  /** `registry/repository`, without the tag. */
  get repositoryName(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** `registry/repository@digest`: what `status.latestImage` holds and the kubelet pulls. */
  digestReference(digest: string): string {
    return `${this.registry}/${this.repository}@${digest}`;
  }
}

/** Whether `input` (`[host[:port]/]path[:tag]`) names a tag: a colon after its last `/`, where a port's cannot be. */
export function namesTag(input: string): boolean {
  return /:[^/]*$/.test(input);
}

/**
 * Parses `[host[:port]/]path[:tag]`. Throws a `RegistryError` with reason `InvalidSpec` whose message
 * quotes the input and says how to write it instead.
 */
export function parseImageReference(input: string): ImageReference {
  const invalid = (why: string) =>
    new RegistryError(ImageReason.InvalidSpec, `${quote(input)} is not a valid image reference: ${why}`);

  if (input.length === 0) throw invalid('it is empty; write [host[:port]/]path[:tag], e.g. localhost:5000/apps/demo');
  if (/\s/.test(input)) throw invalid('it contains whitespace');
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(input);
  if (scheme) throw invalid(`write it without the scheme, as ${quote(input.slice(scheme[0].length))}`);
  const nonAscii = /[^\x21-\x7e]/.exec(input);
  if (nonAscii) throw invalid(`it contains ${quote(nonAscii[0])}; image references are plain ASCII`);
  // `docker pull` reads these as digests; as names they would be Docker Hub's repository "sha256".
  if (/^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}|[a-f0-9]{64})$/.test(input)) {
    throw invalid('it is a digest, and a digest never moves, so there is nothing to watch; watch a tag such as localhost:5000/apps/demo:v1');
  }
  const at = input.indexOf('@');
  if (at >= 0) {
    throw invalid(
      `it pins a digest, and a digest never moves, so there is nothing to watch; watch a tag such as ${quote(input.slice(0, at))}`,
    );
  }

  // Docker's rule: the first component is a host only if it looks like one, so `apps/demo` is on Docker Hub.
  const slash = input.indexOf('/');
  const first = slash < 0 ? '' : input.slice(0, slash);
  const hasHost = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  const host = hasHost ? first : DOCKER_HUB_REGISTRY;
  const remainder = hasHost ? input.slice(slash + 1) : input;

  const colon = remainder.indexOf(':');
  const path = colon < 0 ? remainder : remainder.slice(0, colon);
  const tag = colon < 0 ? DEFAULT_TAG : remainder.slice(colon + 1);

  const hostMatch = HOST.exec(host);
  if (!hostMatch) throw invalid(`${quote(host)} is not a registry host; write host[:port], e.g. registry.example.com:5000`);
  const port = hostMatch[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalid(`port ${port} is out of range (1-65535)`);
  }
  if (path.length === 0) throw invalid('the repository path is empty');
  for (const component of path.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (component !== component.toLowerCase() && PATH_COMPONENT.test(component.toLowerCase())) {
      throw invalid(`repository paths must be lowercase; write ${quote(path.toLowerCase())}`);
    }
    throw invalid(
      `${quote(component)} is not a valid path component: use lowercase letters and digits, ` +
        'separated by one ".", one or two "_", or dashes',
    );
  }
  if (!TAG.test(tag)) {
    throw invalid(
      `${quote(tag)} is not a valid tag: 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    );
  }
  const nameLength = (hasHost ? host.length + 1 : 0) + path.length;
  if (nameLength > MAX_NAME_LENGTH) {
    throw invalid(`the name is ${nameLength} characters long; registries accept at most ${MAX_NAME_LENGTH}`);
  }

  const registry = DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_REGISTRY : host;
  const repository =
    registry === DOCKER_HUB_REGISTRY && !path.includes('/') ? OFFICIAL_REPOSITORY_PREFIX + path : path;
  return new ImageReference(registry, repository, tag);
}

/** Quotes a value for a message, shortened so a pasted essay does not become the condition message. */
function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
