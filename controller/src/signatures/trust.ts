/**
 * An Image's authorities made usable: the public key or trust root read from its Secret, the keyless
 * identities compiled (RE2, linear time: the patterns are tenants' and run on the shared event loop),
 * and a fingerprint of all of it that keys the verdict cache. A key or root that cannot be used is a
 * TrustError naming the Secret, the key in it and what is wrong.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { crypto as sigstoreCrypto, X509Certificate } from '@sigstore/core';
import { RE2JS } from 're2js';
import {
  ImageReason,
  VerificationMode,
  PUBLIC_KEY_SECRET_KEY,
  ROOT_CA_SECRET_KEY,
  TLOG_KEY_SECRET_KEY,
  type ImageVerification,
  type KeylessIdentity,
  type VerificationAuthority,
} from '../api/image.js';

/** A key or trust-root Secret named by `spec.verification` is missing or unusable; the last verified digest stays. */
export class TrustError extends Error {
  override readonly name = 'TrustError';
  readonly reason = ImageReason.TrustUnavailable;
}

/** Most bytes read from a key, and from a trust root's certificates, and most certificates in a root. */
export const MAX_KEY_BYTES = 16 * 1024;
export const MAX_ROOT_BYTES = 64 * 1024;
export const MAX_ROOT_CERTIFICATES = 8;
/** RSA keys shorter than this are refused, as sigstore's own verifiers refuse them. */
const MIN_RSA_BITS = 2048;
const ACCEPTED_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1']);

/** One keyless identity, its two parts each an exact string or a compiled RE2 pattern. */
export interface IdentityMatcher {
  issuer: Matcher;
  subject: Matcher;
}
type Matcher = { exact: string } | { pattern: RE2JS; source: string };

export type Authority = KeyAuthority | KeylessAuthority;

export interface KeyAuthority {
  kind: 'key';
  name: string;
  key: KeyObject;
  /** `Secret "x" key cosign.pub`, for messages. */
  source: string;
}

export interface KeylessAuthority {
  kind: 'keyless';
  name: string;
  identities: IdentityMatcher[];
  /** The root and intermediate certificates a signing certificate must chain to. */
  roots: X509Certificate[];
  /** The transparency log's key, when its signed entry timestamps are to be verified. */
  tlogKey?: KeyObject;
  source: string;
}

/** `spec.verification` parsed once per generation: its mode, and each authority with its identities compiled. */
export interface VerificationPolicy {
  mode: VerificationMode;
  authorities: { spec: VerificationAuthority; identities: IdentityMatcher[] }[];
}

/** `verification` parsed, or undefined when the Image asks for none; throws an Error saying which identity pattern is not RE2. */
export function parseVerification(verification: ImageVerification | undefined): VerificationPolicy | undefined {
  if (verification === undefined) return undefined;
  return {
    mode: verification.mode ?? VerificationMode.Enforce,
    authorities: verification.authorities.map((spec) => ({ spec, identities: compileIdentities(spec.name, spec.keyless?.identities ?? []) })),
  };
}

/** The Secret an authority reads its key or trust root from. */
export function authoritySecret(spec: VerificationAuthority): string {
  return spec.key ? spec.key.secretRef.name : spec.keyless!.trustRootRef.name;
}

/** What an authority's Secret holds, as the API server returns it (base64 values), or undefined when it does not exist. */
export type SecretData = Record<string, string> | undefined;

/**
 * Compiles `identities`; throws an Error saying which pattern is not RE2 (the spec is then invalid).
 * Patterns are matched the way cosign's --certificate-identity-regexp matches: anywhere in the value.
 */
export function compileIdentities(authority: string, identities: readonly KeylessIdentity[]): IdentityMatcher[] {
  const matcher = (exact: string | undefined, pattern: string | undefined, field: string, index: number): Matcher => {
    if (exact !== undefined) return { exact };
    try {
      return { pattern: RE2JS.compile(pattern ?? ''), source: pattern ?? '' };
    } catch (error) {
      throw new Error(`authority "${authority}" identity ${index + 1}: ${field} ${JSON.stringify(pattern)} is not an RE2 regular expression (${(error as Error).message})`);
    }
  };
  return identities.map((identity, index) => ({
    issuer: matcher(identity.issuer, identity.issuerRegExp, 'issuerRegExp', index),
    subject: matcher(identity.subject, identity.subjectRegExp, 'subjectRegExp', index),
  }));
}

export function matches(matcher: Matcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  return 'exact' in matcher ? matcher.exact === value : matcher.pattern.matcher(value).find();
}

export function describeMatcher(matcher: Matcher): string {
  return 'exact' in matcher ? JSON.stringify(matcher.exact) : `/${matcher.source}/`;
}

/** The authority with its key or root read from `secret` (the data of the Secret it names in the Image's namespace). */
export function loadAuthority(spec: VerificationAuthority, identities: IdentityMatcher[], secret: SecretData): Authority {
  if (spec.key) {
    const name = spec.key.secretRef.name;
    const pem = secretValue(secret, name, PUBLIC_KEY_SECRET_KEY, MAX_KEY_BYTES, `the PEM public key (cosign public-key > ${PUBLIC_KEY_SECRET_KEY})`);
    return { kind: 'key', name: spec.name, key: parsePublicKey(pem, `Secret "${name}" key ${PUBLIC_KEY_SECRET_KEY}`), source: `Secret "${name}" key ${PUBLIC_KEY_SECRET_KEY}` };
  }
  const name = spec.keyless!.trustRootRef.name;
  const rootPem = secretValue(secret, name, ROOT_CA_SECRET_KEY, MAX_ROOT_BYTES, 'the PEM root and intermediate certificates signing certificates chain to');
  const tlogPem = secret?.[TLOG_KEY_SECRET_KEY] === undefined ? undefined : secretValue(secret, name, TLOG_KEY_SECRET_KEY, MAX_KEY_BYTES, "the transparency log's PEM public key");
  return {
    kind: 'keyless',
    name: spec.name,
    identities,
    roots: parseCertificates(rootPem, `Secret "${name}" key ${ROOT_CA_SECRET_KEY}`),
    tlogKey: tlogPem === undefined ? undefined : parsePublicKey(tlogPem, `Secret "${name}" key ${TLOG_KEY_SECRET_KEY}`),
    source: `Secret "${name}"`,
  };
}

function secretValue(secret: SecretData, name: string, key: string, maxBytes: number, holds: string): string {
  if (secret === undefined) throw new TrustError(`Secret "${name}" does not exist; create it with the key ${key} holding ${holds}`);
  const encoded = secret[key];
  if (encoded === undefined) throw new TrustError(`Secret "${name}" has no key ${key}; it must hold ${holds}`);
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  if (text.length > maxBytes) throw new TrustError(`Secret "${name}" key ${key} is larger than ${maxBytes / 1024} KiB; it must hold ${holds} only`);
  return text;
}

/** A PEM public key of a kind cosign signs with: ECDSA P-256/P-384, Ed25519, or RSA of 2048 bits or more. */
export function parsePublicKey(pem: string, where: string): KeyObject {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new TrustError(`${where} is not a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  let key: KeyObject;
  try {
    key = sigstoreCrypto.createPublicKey(pem.trim());
  } catch (error) {
    throw new TrustError(`${where} is not a readable public key: ${(error as Error).message}`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return key;
    case 'ec':
      if (ACCEPTED_CURVES.has(details.namedCurve ?? '')) return key;
      throw new TrustError(`${where} is an ECDSA key on curve ${details.namedCurve}; cosign keys are P-256 or P-384`);
    case 'rsa':
      if ((details.modulusLength ?? 0) >= MIN_RSA_BITS) return key;
      throw new TrustError(`${where} is a ${details.modulusLength}-bit RSA key; at least ${MIN_RSA_BITS} bits are needed`);
    default:
      throw new TrustError(`${where} is a ${key.asymmetricKeyType} key; cosign keys are ECDSA P-256/P-384, Ed25519 or RSA`);
  }
}

/** The PEM certificates in `pem`, one or more, at most MAX_ROOT_CERTIFICATES. */
export function parseCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TrustError(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (blocks.length > MAX_ROOT_CERTIFICATES) throw new TrustError(`${where} holds ${blocks.length} certificates; at most ${MAX_ROOT_CERTIFICATES} are read`);
  return blocks.map((block, index) => {
    try {
      return X509Certificate.parse(block);
    } catch (error) {
      throw new TrustError(`${where} certificate ${index + 1} is not a readable X.509 certificate: ${(error as Error).message}`);
    }
  });
}

/** One string that changes whenever anything an authority trusts changes: the verdict cache's key. */
export function fingerprint(authorities: readonly Authority[]): string {
  const hash = createHash('sha256');
  for (const authority of authorities) {
    hash.update(`${authority.kind}\0${authority.name}\0`);
    if (authority.kind === 'key') {
      hash.update(authority.key.export({ type: 'spki', format: 'der' }));
      continue;
    }
    for (const root of authority.roots) hash.update(root.root.toDER());
    if (authority.tlogKey) hash.update(authority.tlogKey.export({ type: 'spki', format: 'der' }));
    for (const { issuer, subject } of authority.identities) hash.update(`\0${describeMatcher(issuer)}\0${describeMatcher(subject)}`);
  }
  return hash.digest('hex');
}
