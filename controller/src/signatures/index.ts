// signatures/: whether a digest carries a cosign signature that verifies under an Image's authorities: finding signatures in the registry, the trust material, the verdict and its cache.
export { SignatureLimits } from './cosign.js';
export { type Fetched, type RepositoryReader } from './locate.js';
export { compileIdentities, loadAuthority, TrustError, type Authority, type IdentityMatcher, type SecretData } from './trust.js';
export { SignatureVerifier, type Verdict, type VerdictCacheOptions } from './verdicts.js';
