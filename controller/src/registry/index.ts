// registry/: everything about talking to an OCI registry: references, credentials, auth, which hosts may be contacted, listing a repository's tags, resolving a tag to its digest, and reading more of a repository within one check.
//   client.ts            the long-lived client: pools, TLS contexts, challenges, tokens, plain-HTTP endpoints
//   session.ts           one check against one registry: deadline, scheme, hops and auth
//   transport.ts         one HTTP exchange: deadlines, redirects, bounded reads
//   policy.ts            whether a host may be contacted, for every hop
//   allow-list.ts        --allowed-registries globs
//   destination.ts       which addresses are refused at connect time (metadata, link-local …)
//   resolve-digest.ts    HEAD (or GET) of a tag's manifest: its digest
//   tag-list.ts          a repository's tags, paged by Link, bounded in pages, tags and bytes
//   repository-reader.ts reading more of a repository within one check (signatures)
//   auth.ts              WWW-Authenticate challenges and the token exchange, tokens cached
//   docker-config.ts     credentials from .dockerconfigjson
//   reference.ts         tag references, parsed and normalized
//   manifest.ts          the manifest media types asked for, and digests
//   failures.ts          what went wrong, as a RegistryError a person can act on
//   errors.ts            the errors a check fails with
export { parseAuthChallenges, type AuthChallenge } from './auth.js';
export { RegistryClient, type RegistryClientOptions } from './client.js';
export { allowsPlainHttp, isLoopback, RegistryPolicy, type Hop, type RegistryPolicyOptions } from './policy.js';
export { type ResolvedDigest } from './resolve-digest.js';
export { type ResolveOptions } from './session.js';
export { DEFAULT_MAX_TAGS, MAX_PAGE_BYTES, pagesFor, TAG_PAGE_SIZE, type TagListBounds, type TagListing } from './tag-list.js';
export { type RequestEvent } from './transport.js';
export { credentialsFor, parseDockerConfig, type DockerConfig, type RegistryCredentials } from './docker-config.js';
export { classifyAddress, type AddressClass } from './destination.js';
export { CredentialsError, isCheckError, RegistryError, type CheckError } from './errors.js';
export { digestOf, MediaType, type ManifestMediaType } from './manifest.js';
export { type Fetched, type RepositoryReader } from './repository-reader.js';
export { DOCKER_HUB_ENDPOINT, DOCKER_HUB_REGISTRY, ImageReference, namesTag, parseImageReference } from './reference.js';
