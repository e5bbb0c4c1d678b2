// signatures/: whether a digest carries a cosign signature that verifies under an Image's authorities: finding signatures in the registry, the trust material, the verdict and its cache.
export { SignatureLimits } from './cosign.js';
export { authoritySecret, loadAuthority, parseVerification, TrustError, type Authority, type SecretData, type VerificationPolicy } from './trust.js';
export { SignatureVerifier, type OpenRepository, type Verdict, type VerdictCacheOptions } from './verdicts.js';
