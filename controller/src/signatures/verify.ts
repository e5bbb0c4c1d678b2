/**
 * Whether one signature found for a digest verifies under one authority, and if not, why, in words a
 * person can act on. @sigstore/verify does the cryptography and the PKI: the signature under the key,
 * the certificate chain to the trust root at the signing time, a transparency-log entry's signed entry
 * timestamp under the log's key and its body against the signature. What it does not know is written
 * here: that the signed content names this very digest, cosign's hash choice per key type, RE2
 * identities, the code-signing purpose cosign requires of a certificate, and the verification time
 * of a keyless signature with no log entry.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { crypto as sigstoreCrypto, dsse as sigstoreDsse, type X509Certificate } from '@sigstore/core';
import { Verifier, VerificationError, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { describeMatcher, matches, type Authority, type KeylessAuthority } from './trust.js';

/** One signature found for a digest, before it is verified. */
export interface FoundSignature {
  /** Where it was found, for messages: `tag sha256-….sig layer 1`, `referrer sha256:…`. */
  where: string;
  /** The image digest the signed content names. */
  signedDigest: string;
  signature: SignedEntity['signature'];
  /** The signing certificate, for keyless signatures. */
  certificate?: X509Certificate;
  tlogEntries: TransparencyLogEntry[];
}

export type SignatureCheck =
  | {
      verified: true;
      authority: string;
      /** Who signed: the key's Secret, or the certificate's issuer and subject. */
      signer: string;
      /** Until when the verdict holds (epoch ms): a keyless certificate checked at `now` expires. */
      validUntil: number;
    }
  | { verified: false; reason: string };

type SignatureContent = SignedEntity['signature'];

/** A signature over the exact bytes of a Simple Signing payload, as cosign makes one for each key type. */
export class PayloadSignature implements SignatureContent {
  readonly signature: Buffer;
  readonly #payload: Buffer;

  constructor(payload: Buffer, signature: Buffer) {
    this.#payload = payload;
    this.signature = signature;
  }

  compareSignature(signature: Buffer): boolean {
    return sigstoreCrypto.bufferEqual(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return sigstoreCrypto.bufferEqual(digest, createHash('sha256').update(this.#payload).digest());
  }

  verifySignature(key: KeyObject): boolean {
    return verifyCosignSignature(this.#payload, key, this.signature);
  }
}

/**
 * A bundle's DSSE signature (sigstore-js reads the envelope), verified over its pre-authentication
 * encoding with the hashes cosign signs with rather than Node's default for the key.
 */
export function dsseSignature(content: SignatureContent, payloadType: string, payload: Buffer): SignatureContent {
  const signed = sigstoreDsse.preAuthEncoding(payloadType, payload);
  return {
    signature: content.signature,
    compareSignature: (signature) => content.compareSignature(signature),
    compareDigest: (digest) => content.compareDigest(digest),
    verifySignature: (key) => verifyCosignSignature(signed, key, content.signature),
  };
}

/**
 * The digests cosign signs with for each key type: SHA-256 for P-256 and RSA; for P-384, SHA-384 (cosign 3)
 * or SHA-256 (cosign 2); none for Ed25519, which hashes internally. (cosign 3.0 signs with an imported
 * Ed25519 key in pre-hashed Ed25519ph, which neither its own `verify --key` nor Node can check.)
 */
export function signingHashes(key: KeyObject): (string | undefined)[] {
  if (key.asymmetricKeyType === 'ed25519') return [undefined];
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? ['sha384', 'sha256'] : ['sha256'];
}

function verifyCosignSignature(signed: Buffer, key: KeyObject, signature: Buffer): boolean {
  return signingHashes(key).some((hash) => sigstoreCrypto.verify(signed, key, signature, hash));
}

const ALWAYS = { start: new Date(0), end: new Date(8_640_000_000_000_000) };

export function checkSignature(found: FoundSignature, digest: string, authority: Authority, now: number): SignatureCheck {
  if (found.signedDigest !== digest) {
    return { verified: false, reason: `${found.where} is a signature of ${found.signedDigest}, not of this digest (copied from another image?)` };
  }
  return authority.kind === 'key' ? checkKey(found, authority.key, authority.name, authority.source) : checkKeyless(found, authority, now);
}

function checkKey(found: FoundSignature, key: KeyObject, name: string, source: string): SignatureCheck {
  const trust = trustMaterial({ publicKey: () => ({ publicKey: key, validFor: () => true }) });
  const entity: SignedEntity = { signature: found.signature, key: { $case: 'public-key', hint: name }, tlogEntries: [], timestamps: [] };
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
  } catch (error) {
    return { verified: false, reason: `${found.where} does not verify under the key in ${source} (authority "${name}")${detail(error, 'SIGNATURE_ERROR')}` };
  }
  return { verified: true, authority: name, signer: `the key in ${source}`, validUntil: Number.POSITIVE_INFINITY };
}

function checkKeyless(found: FoundSignature, authority: KeylessAuthority, now: number): SignatureCheck {
  const { certificate } = found;
  if (certificate === undefined) {
    return { verified: false, reason: `${found.where} carries no certificate (signed with a key), so it cannot match keyless authority "${authority.name}"` };
  }
  if (!isForCodeSigning(certificate)) {
    return { verified: false, reason: `${found.where} was signed with a certificate whose extended key usage does not include code signing` };
  }
  // A log entry counts only when its key is configured; it then dates the signature, and the
  // certificate must have been valid then. Without one, as cosign --insecure-ignore-tlog does, the
  // certificate must be valid now: the verdict lasts until it expires.
  const tlogEntries = authority.tlogKey ? found.tlogEntries : [];
  const timestamps: SignedEntity['timestamps'] =
    tlogEntries.length > 0
      ? tlogEntries.map((tlogEntry) => ({ $case: 'transparency-log', tlogEntry }))
      : [{ $case: 'transparency-log', tlogEntry: verificationTime(now) }];
  const trust = trustMaterial({
    certificateAuthorities: [{ certChain: authority.roots, validFor: ALWAYS }],
    tlogs: authority.tlogKey ? [{ logID: logId(authority.tlogKey), baseURL: '', publicKey: authority.tlogKey, validFor: ALWAYS }] : [],
  });
  const entity: SignedEntity = { signature: found.signature, key: { $case: 'certificate', certificate }, tlogEntries, timestamps };
  let issuer: string | undefined;
  let subject: string | undefined;
  try {
    const signer = new Verifier(trust, { tlogThreshold: tlogEntries.length > 0 ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
    issuer = signer.identity?.extensions?.issuer;
    subject = signer.identity?.subjectAlternativeName;
  } catch (error) {
    return { verified: false, reason: `${found.where} does not verify under keyless authority "${authority.name}" (${authority.source})${detail(error)}` };
  }
  const identity = `issuer ${JSON.stringify(issuer ?? '')}, subject ${JSON.stringify(subject ?? '')}`;
  if (!authority.identities.some((wanted) => matches(wanted.issuer, issuer) && matches(wanted.subject, subject))) {
    const wanted = authority.identities.map((id) => `issuer ${describeMatcher(id.issuer)} with subject ${describeMatcher(id.subject)}`).join('; or ');
    return { verified: false, reason: `${found.where} was signed by ${identity}, which keyless authority "${authority.name}" does not accept (it accepts ${wanted})` };
  }
  const validUntil = tlogEntries.length > 0 ? Number.POSITIVE_INFINITY : certificate.notAfter.getTime();
  return { verified: true, authority: authority.name, signer: identity, validUntil };
}

function trustMaterial(parts: Partial<TrustMaterial>): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no public key configured' });
    },
    ...parts,
  };
}

/**
 * The moment a keyless signature without a (trusted) log entry is checked at, given to the verifier as
 * a timestamp: it checks certificates at timestamps only, and has no "now" of its own. Not a log entry:
 * it is never in `tlogEntries`, so nothing takes it for proof of inclusion.
 */
function verificationTime(now: number): TransparencyLogEntry {
  return {
    logIndex: '0',
    logId: { keyId: Buffer.alloc(0) },
    kindVersion: { kind: '', version: '' },
    integratedTime: String(Math.floor(now / 1000)),
    inclusionPromise: { signedEntryTimestamp: Buffer.alloc(0) },
    inclusionProof: undefined,
    canonicalizedBody: Buffer.alloc(0),
  };
}

const EXTENDED_KEY_USAGE = '2.5.29.37';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

/** Cosign (Go's x509 verification) requires code signing among a signing certificate's extended key usages. */
function isForCodeSigning(certificate: X509Certificate): boolean {
  // extnValue is an OCTET STRING wrapping the SEQUENCE OF KeyPurposeId.
  const usages = certificate.extension(EXTENDED_KEY_USAGE)?.valueObj.subs[0]?.subs ?? [];
  return usages.some((usage) => usage.toOID() === CODE_SIGNING);
}

/** A log's ID is the SHA-256 of its public key (DER SubjectPublicKeyInfo), as Rekor names itself. */
export function logId(key: KeyObject): Buffer {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest();
}

/** The verifier's own words, unless they only restate the summary (`code`). */
function detail(error: unknown, plainCode?: string): string {
  if (!(error instanceof VerificationError)) return `: ${error instanceof Error ? error.message : String(error)}`;
  if (error.code === plainCode) return '';
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `: ${error.message}${cause}`;
}
