// signatures/: whether a digest carries a cosign signature that verifies under an Image's authorities: finding signatures in the registry, the trust material, the verdict and its cache.
//   locate.ts            where a digest's signatures are, read within bounds
//   cosign.ts            cosign's storage formats, read without trusting them
//   trust.ts             an Image's authorities made usable from its Secrets
//   verify.ts            whether one signature verifies under one authority, and why not
//   verdicts.ts          the verdict per repository, digest and authorities, remembered
export { SignatureLimits } from './cosign.js';
export { authoritySecret, loadAuthority, parseVerification, TrustError, type Authority, type SecretData, type VerificationPolicy } from './trust.js';
export { SignatureVerifier, type OpenRepository, type Verdict, type VerdictCacheOptions } from './verdicts.js';
