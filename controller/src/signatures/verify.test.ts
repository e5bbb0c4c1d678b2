import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerificationAuthority } from '../api/image.js';
import { DIGEST_A, DIGEST_B } from '../testing/images.js';
import { makeCertificateChain, makeKeyPair, rekorBundleAnnotation, signPayload, simpleSigningPayload, type KeyKind, type TestChain } from '../testing/signing.js';
import { parseRekorBundle } from './cosign.js';
import { compileIdentities, fingerprint, loadAuthority, parsePublicKey, TrustError, type Authority, type SecretData } from './trust.js';
import { checkSignature, PayloadSignature, type FoundSignature } from './verify.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const ISSUER = 'https://issuer.example';
const SUBJECT = 'ci@example.com';

function keyAuthority(publicPem: string, name = 'release'): Authority {
  const spec: VerificationAuthority = { name, key: { secretRef: { name: 'cosign-pub' } } };
  return loadAuthority(spec, [], { 'cosign.pub': b64(publicPem) });
}

function keylessAuthority(rootPem: string, identities: VerificationAuthority['keyless'] extends infer K ? (K extends { identities: infer I } ? I : never) : never, tlogPem?: string): Authority {
  const spec: VerificationAuthority = { name: 'ci', keyless: { identities, trustRootRef: { name: 'sigstore-root' } } };
  return loadAuthority(spec, compileIdentities('ci', identities), { 'ca.crt': b64(rootPem), ...(tlogPem ? { 'rekor.pub': b64(tlogPem) } : {}) });
}

function found(payload: Buffer, signature: Buffer, extra: Partial<FoundSignature> = {}): FoundSignature {
  let signedDigest: string;
  try {
    signedDigest = JSON.parse(payload.toString()).critical.image['docker-manifest-digest'];
  } catch {
    signedDigest = '';
  }
  return { where: 'tag sha256-….sig layer 1', signedDigest, signature: new PayloadSignature(payload, signature), tlogEntries: [], ...extra };
}

describe('key authorities', () => {
  it.each<KeyKind>(['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048'])('a %s signature of this digest verifies', (kind) => {
    const pair = makeKeyPair(kind);
    const payload = simpleSigningPayload(DIGEST_A);
    const check = checkSignature(found(payload, signPayload(pair.privateKey, payload)), DIGEST_A, keyAuthority(pair.publicPem), NOW);
    expect(check).toEqual({ verified: true, authority: 'release', signer: 'the key in Secret "cosign-pub" key cosign.pub', validUntil: Infinity });
  });

  it.each<[string, (pair: ReturnType<typeof makeKeyPair>) => { sig: FoundSignature; digest: string; authority: Authority }, RegExp]>([
    [
      'another key',
      (pair) => {
        const payload = simpleSigningPayload(DIGEST_A);
        return { sig: found(payload, signPayload(pair.privateKey, payload)), digest: DIGEST_A, authority: keyAuthority(makeKeyPair('ecdsa-p256').publicPem) };
      },
      /does not verify under the key in Secret "cosign-pub" key cosign.pub \(authority "release"\)$/,
    ],
    [
      "another digest's signature",
      (pair) => {
        const payload = simpleSigningPayload(DIGEST_B);
        return { sig: found(payload, signPayload(pair.privateKey, payload)), digest: DIGEST_A, authority: keyAuthority(pair.publicPem) };
      },
      new RegExp(`is a signature of ${DIGEST_B}, not of this digest`),
    ],
    [
      'a payload changed after signing',
      (pair) => {
        const signature = signPayload(pair.privateKey, simpleSigningPayload(DIGEST_A, 'localhost:5000/apps/other'));
        return { sig: found(simpleSigningPayload(DIGEST_A), signature), digest: DIGEST_A, authority: keyAuthority(pair.publicPem) };
      },
      /does not verify under the key/,
    ],
  ])('%s does not verify', (_name, make, reason) => {
    const { sig, digest, authority } = make(makeKeyPair('ecdsa-p256'));
    const check = checkSignature(sig, digest, authority, NOW);
    expect(check.verified).toBe(false);
    expect(!check.verified && check.reason).toMatch(reason);
  });
});

describe('keyless authorities', () => {
  let chain: TestChain;
  let payload: Buffer;
  let signed: FoundSignature;
  const log = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const logPem = log.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  beforeAll(() => {
    chain = makeCertificateChain({ issuer: ISSUER, subject: SUBJECT, days: 1 });
    payload = simpleSigningPayload(DIGEST_A);
    signed = found(payload, signPayload(chain.leafKey, payload), { certificate: X509Certificate.parse(chain.leafPem) });
  });
  const now = () => X509Certificate.parse(chain.leafPem).notBefore.getTime() + 60_000;

  it.each<[string, { issuer?: string; issuerRegExp?: string; subject?: string; subjectRegExp?: string }[], boolean]>([
    ['exact issuer and subject', [{ issuer: ISSUER, subject: SUBJECT }], true],
    ['a subject regex matching part of it, as cosign matches', [{ issuer: ISSUER, subjectRegExp: '@example\\.com' }], true],
    ['an issuer regex', [{ issuerRegExp: '^https://issuer\\.', subject: SUBJECT }], true],
    ['the second identity', [{ issuer: 'https://other', subject: SUBJECT }, { issuer: ISSUER, subject: SUBJECT }], true],
    ['another subject', [{ issuer: ISSUER, subject: 'someone@example.com' }], false],
    ['another issuer', [{ issuer: 'https://accounts.example', subject: SUBJECT }], false],
    ['an anchored regex that does not match all of it', [{ issuer: ISSUER, subjectRegExp: '^ci@example$' }], false],
  ])('%s', (_name, identities, verified) => {
    const check = checkSignature(signed, DIGEST_A, keylessAuthority(chain.rootPem, identities), now());
    expect(check.verified).toBe(verified);
    if (verified && check.verified) expect(check.validUntil).toBe(X509Certificate.parse(chain.leafPem).notAfter.getTime());
    if (!check.verified) expect(check.reason).toMatch(/was signed by issuer "https:\/\/issuer.example", subject "ci@example.com", which keyless authority "ci" does not accept/);
  });

  it('refuses a certificate that is expired now, with no log entry to date the signature', () => {
    const later = X509Certificate.parse(chain.leafPem).notAfter.getTime() + 1000;
    const check = checkSignature(signed, DIGEST_A, keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }]), later);
    expect(!check.verified && check.reason).toMatch(/not valid or expired/);
  });

  it('refuses a certificate from another root', () => {
    const other = makeCertificateChain({ issuer: ISSUER, subject: SUBJECT });
    const check = checkSignature(signed, DIGEST_A, keylessAuthority(other.rootPem, [{ issuer: ISSUER, subject: SUBJECT }]), now());
    expect(!check.verified && check.reason).toMatch(/Failed to verify certificate chain/);
  });

  it('refuses a certificate not made for code signing', () => {
    const plain = makeCertificateChain({ issuer: ISSUER, subject: SUBJECT, codeSigning: false });
    const sig = found(payload, signPayload(plain.leafKey, payload), { certificate: X509Certificate.parse(plain.leafPem) });
    const check = checkSignature(sig, DIGEST_A, keylessAuthority(plain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }]), now());
    expect(!check.verified && check.reason).toMatch(/code signing/);
  });

  it('refuses a key signature for a keyless authority', () => {
    const check = checkSignature({ ...signed, certificate: undefined }, DIGEST_A, keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }]), now());
    expect(!check.verified && check.reason).toMatch(/carries no certificate/);
  });

  describe('with a transparency log key', () => {
    const entryFor = (key = log.privateKey, integratedTime = Math.floor(now() / 1000)) =>
      parseRekorBundle(rekorBundleAnnotation(key, payload, signed.signature.signature, chain.leafPem, integratedTime));

    it('verifies the signed entry timestamp, and the certificate at the time it dates', () => {
      const authority = keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }], logPem);
      // Checked long after the certificate expired: the log entry dates the signature within its validity.
      const later = X509Certificate.parse(chain.leafPem).notAfter.getTime() + 86_400_000;
      const check = checkSignature({ ...signed, tlogEntries: [entryFor()] }, DIGEST_A, authority, later);
      expect(check).toMatchObject({ verified: true, validUntil: Infinity });
    });

    it('refuses a timestamp signed by another log', () => {
      const authority = keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }], logPem);
      const forged = entryFor(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      const check = checkSignature({ ...signed, tlogEntries: [forged] }, DIGEST_A, authority, now());
      expect(!check.verified && check.reason).toMatch(/inclusion promise could not be verified/);
    });

    it('refuses an entry dated outside the certificate', () => {
      const authority = keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }], logPem);
      const late = entryFor(log.privateKey, Math.floor(X509Certificate.parse(chain.leafPem).notAfter.getTime() / 1000) + 3600);
      const check = checkSignature({ ...signed, tlogEntries: [late] }, DIGEST_A, authority, now());
      expect(!check.verified && check.reason).toMatch(/not valid or expired/);
    });

    it('ignores an entry when no log key is configured, as cosign --insecure-ignore-tlog does', () => {
      const authority = keylessAuthority(chain.rootPem, [{ issuer: ISSUER, subject: SUBJECT }]);
      const forged = entryFor(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      expect(checkSignature({ ...signed, tlogEntries: [forged] }, DIGEST_A, authority, now()).verified).toBe(true);
    });
  });
});

describe('trust material from Secrets', () => {
  const keySpec: VerificationAuthority = { name: 'release', key: { secretRef: { name: 'cosign-pub' } } };
  const rootSpec: VerificationAuthority = { name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SUBJECT }], trustRootRef: { name: 'root' } } };
  const pem = (kind: 'secp256k1' | 'rsa-1024' | 'x25519') => {
    const pair =
      kind === 'secp256k1'
        ? generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
        : kind === 'rsa-1024'
          ? generateKeyPairSync('rsa', { modulusLength: 1024 })
          : generateKeyPairSync('x25519');
    return pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  };

  it.each<[string, VerificationAuthority, SecretData, RegExp]>([
    ['a missing Secret', keySpec, undefined, /Secret "cosign-pub" does not exist; create it with the key cosign.pub/],
    ['a Secret without cosign.pub', keySpec, { 'cosign.key': b64('x') }, /Secret "cosign-pub" has no key cosign.pub/],
    ['a private key', keySpec, { 'cosign.pub': b64('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----') }, /is not a PEM public key/],
    ['a damaged key', keySpec, { 'cosign.pub': b64('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----') }, /is not a readable public key/],
    ['a secp256k1 key', keySpec, { 'cosign.pub': b64(pem('secp256k1')) }, /curve secp256k1; cosign keys are P-256 or P-384/],
    ['a 1024-bit RSA key', keySpec, { 'cosign.pub': b64(pem('rsa-1024')) }, /1024-bit RSA key; at least 2048/],
    ['an X25519 key', keySpec, { 'cosign.pub': b64(pem('x25519')) }, /x25519 key; cosign keys are/],
    ['a huge value', keySpec, { 'cosign.pub': b64('x'.repeat(20_000)) }, /larger than 16 KiB/],
    ['a root Secret without ca.crt', rootSpec, { 'rekor.pub': b64('x') }, /Secret "root" has no key ca.crt/],
    ['a root that is no certificate', rootSpec, { 'ca.crt': b64('hello') }, /holds no PEM certificate/],
    ['a damaged certificate', rootSpec, { 'ca.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----') }, /certificate 1 is not a readable X.509 certificate/],
  ])('%s is a TrustError naming the Secret', (_name, spec, secret, message) => {
    const load = () => loadAuthority(spec, [], secret);
    expect(load).toThrow(TrustError);
    expect(load).toThrow(message);
  });

  it('refuses an identity pattern that is not RE2 (backtracking constructs included)', () => {
    expect(() => compileIdentities('ci', [{ issuer: ISSUER, subjectRegExp: '(?=a)b' }])).toThrow(/authority "ci" identity 1: subjectRegExp "\(\?=a\)b" is not an RE2 regular expression/);
  });

  it('fingerprints what is trusted: another key, name or identity is another verdict', () => {
    const a = makeKeyPair('ecdsa-p256').publicPem;
    const same = fingerprint([keyAuthority(a)]);
    expect(fingerprint([keyAuthority(a)])).toBe(same);
    expect(fingerprint([keyAuthority(makeKeyPair('ecdsa-p256').publicPem)])).not.toBe(same);
    expect(fingerprint([keyAuthority(a, 'other')])).not.toBe(same);
    expect(createPublicKey(a).asymmetricKeyType).toBe('ec');
    expect(() => parsePublicKey(a, 'here')).not.toThrow();
  });
});
