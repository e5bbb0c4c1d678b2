/**
 * Signing material for tests, made in the test: key pairs of each kind cosign signs with, Simple
 * Signing payloads signed the way cosign signs them, a certificate chain for keyless signatures (made
 * with openssl, carrying Fulcio's issuer extension), and a transparency log's signed entry timestamp.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa-2048';

export interface TestKeyPair {
  kind: KeyKind;
  privateKey: KeyObject;
  publicPem: string;
}

export function makeKeyPair(kind: KeyKind): TestKeyPair {
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : kind === 'rsa-2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: kind === 'ecdsa-p256' ? 'prime256v1' : 'secp384r1' });
  return { kind, privateKey: pair.privateKey, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The Simple Signing payload cosign signs for `digest`. */
export function simpleSigningPayload(digest: string, reference = 'localhost:5000/apps/demo'): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
      optional: null,
    }),
  );
}

/** A signature over `payload` as cosign makes it: SHA-256 for P-256 and RSA (PKCS#1 v1.5), SHA-384 for P-384 (cosign 3), plain Ed25519. */
export function signPayload(privateKey: KeyObject, payload: Buffer): Buffer {
  const hash = privateKey.asymmetricKeyType === 'ed25519' ? null : privateKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
  return sign(hash, payload, privateKey);
}

export interface TestChain {
  rootPem: string;
  leafPem: string;
  leafKey: KeyObject;
}

export interface LeafOptions {
  issuer: string;
  /** An email or a URI SAN, as Fulcio writes one. */
  subject: string;
  /** @default true */
  codeSigning?: boolean;
  days?: number;
}

/** A root CA and a leaf it issued for `options`' identity, made with openssl. */
export function makeCertificateChain(options: LeafOptions): TestChain {
  const dir = mkdtempSync(join(tmpdir(), 'chain-'));
  try {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key');
    openssl('req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=test root', '-days', '30', '-out', 'root.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'leaf.key');
    openssl('req', '-new', '-key', 'leaf.key', '-subj', '/', '-out', 'leaf.csr');
    const san = options.subject.includes('@') && !options.subject.includes('://') ? `email:${options.subject}` : `URI:${options.subject}`;
    writeFileSync(
      join(dir, 'leaf.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        ...(options.codeSigning === false ? [] : ['extendedKeyUsage=codeSigning']),
        `subjectAltName=critical,${san}`,
        // Fulcio's OIDC issuer, as Fulcio writes both: v1 the raw string, v2 a DER UTF8String.
        `1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(options.issuer).toString('hex')}`,
        `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${options.issuer}`,
      ].join('\n'),
    );
    openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', String(options.days ?? 1), '-extfile', 'leaf.ext', '-out', 'leaf.pem');
    const leafKeyPem = readFileSync(join(dir, 'leaf.key'), 'utf8');
    return { rootPem: readFileSync(join(dir, 'root.pem'), 'utf8'), leafPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'), leafKey: createPrivateKey(leafKeyPem) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Cosign's `dev.sigstore.cosign/bundle` annotation for a hashedrekord entry of `signature` over
 * `payload`, its signed entry timestamp made with `logKey`, as Rekor makes one.
 */
export function rekorBundleAnnotation(logKey: KeyObject, payload: Buffer, signature: Buffer, signerPem: string, integratedTime: number): string {
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(signerPem).toString('base64') } },
    },
  };
  const logID = createHash('sha256').update(createPublicKey(logKey).export({ type: 'spki', format: 'der' })).digest('hex');
  const entry = { body: Buffer.from(JSON.stringify(body)).toString('base64'), integratedTime, logID, logIndex: 7 };
  // Rekor signs the canonical JSON of these four fields (keys sorted, no spaces).
  const canonical = JSON.stringify({ body: entry.body, integratedTime, logID, logIndex: entry.logIndex });
  return JSON.stringify({ SignedEntryTimestamp: sign('sha256', Buffer.from(canonical), logKey).toString('base64'), Payload: entry });
}
