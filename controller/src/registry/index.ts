// registry/: everything about talking to an OCI registry: references, credentials, auth, which hosts may be contacted, resolving a tag to its digest, and reading more of a repository within one check.
export { parseAuthChallenges, type AuthChallenge } from './auth.js';
export { RegistryClient, type RegistryClientOptions } from './client.js';
export { allowsPlainHttp, isLoopback, RegistryPolicy, type Hop, type RegistryPolicyOptions } from './policy.js';
export { type ResolvedDigest } from './resolve-digest.js';
export { type ResolveOptions } from './session.js';
export { type RequestEvent } from './transport.js';
export { credentialsFor, parseDockerConfig, type DockerConfig, type RegistryCredentials } from './docker-config.js';
export { classifyAddress, type AddressClass } from './destination.js';
export { CredentialsError, isCheckError, RegistryError, type CheckError } from './errors.js';
export { digestOf, MediaType, type ManifestMediaType } from './manifest.js';
export { type Fetched, type RepositoryReader } from './repository-reader.js';
export { DOCKER_HUB_ENDPOINT, DOCKER_HUB_REGISTRY, ImageReference, parseImageReference } from './reference.js';
