// registry/: everything about talking to an OCI registry: references, credentials, auth, and resolving a tag to its digest.
export { parseAuthChallenges, type AuthChallenge } from './auth.js';
export { RegistryClient, isLoopback, type RegistryClientOptions, type RequestEvent, type ResolveOptions, type ResolvedDigest } from './client.js';
export { credentialsFor, parseDockerConfig, type DockerConfig, type RegistryCredentials } from './docker-config.js';
export { HostAllowList, hostOf } from './allow-list.js';
export { classifyAddress, isForbiddenAddress, isMetadataHost, type AddressClass } from './destination.js';
export { CredentialsError, isCheckError, RegistryError, type CheckError } from './errors.js';
export { MediaType, type ManifestMediaType } from './manifest.js';
export { DOCKER_HUB_ENDPOINT, DOCKER_HUB_REGISTRY, ImageReference, parseImageReference } from './reference.js';
