import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DIGEST_A } from '../testing/images.js';
import { rekorBundleAnnotation, signPayload, simpleSigningPayload } from '../testing/signing.js';
import {
  parseRekorBundle,
  parseSignatureManifest,
  referrersTag,
  REKOR_BUNDLE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  SignatureLimits,
  signatureTag,
  signedDigest,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from './cosign.js';

const PAYLOAD_DIGEST = `sha256:${'c'.repeat(64)}`;
const layer = (overrides: Record<string, unknown> = {}, annotations: Record<string, unknown> = { [SIGNATURE_ANNOTATION]: 'c2ln' }) => ({
  mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
  digest: PAYLOAD_DIGEST,
  size: 250,
  annotations,
  ...overrides,
});
const manifest = (layers: unknown) => Buffer.from(JSON.stringify({ schemaVersion: 2, layers }));

describe('cosign tag scheme', () => {
  it('names the signature and referrers tags after the digest', () => {
    expect(signatureTag(DIGEST_A)).toBe(`sha256-${'a'.repeat(64)}.sig`);
    expect(referrersTag(DIGEST_A)).toBe(`sha256-${'a'.repeat(64)}`);
  });
});

describe('parseSignatureManifest', () => {
  it.each<[string, unknown, { layers: number; skipped: RegExp[] }]>([
    ['one Simple Signing layer', [layer()], { layers: 1, skipped: [] }],
    ['a layer of another media type', [layer({ mediaType: 'application/octet-stream' })], { layers: 0, skipped: [/media type "application\/octet-stream"/] }],
    ['a digest that is not sha256', [layer({ digest: 'md5:abc' })], { layers: 0, skipped: [/not a sha256 digest/] }],
    ['a payload larger than the bound', [layer({ size: SignatureLimits.payloadBytes + 1 })], { layers: 0, skipped: [/larger than/] }],
    ['no signature annotation', [layer({}, {})], { layers: 0, skipped: [/no dev.cosignproject.cosign\/signature/] }],
    ['an oversized annotation', [layer({}, { [SIGNATURE_ANNOTATION]: 'x'.repeat(SignatureLimits.annotationBytes + 1) })], { layers: 0, skipped: [/longer than/] }],
    ['a descriptor that is not an object', ['nope', layer()], { layers: 1, skipped: [/layer 1: not a descriptor/] }],
    ['more layers than are tried', Array.from({ length: 5 }, () => layer()), { layers: 3, skipped: [/2 more layers beyond the 3/] }],
  ])('%s', (_name, layers, expected) => {
    const parsed = parseSignatureManifest(manifest(layers), 3);
    expect(parsed.layers).toHaveLength(expected.layers);
    expect(parsed.skipped).toHaveLength(expected.skipped.length);
    expected.skipped.forEach((pattern, i) => expect(parsed.skipped[i]).toMatch(pattern));
  });

  it('decodes the signature and keeps the payload reference', () => {
    const [parsed] = parseSignatureManifest(manifest([layer()]), 3).layers;
    expect(parsed).toMatchObject({ payloadDigest: PAYLOAD_DIGEST, payloadSize: 250, signature: Buffer.from('sig') });
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['no layers', Buffer.from('{"schemaVersion":2}')],
    ['an array', Buffer.from('[]')],
  ])('refuses a manifest that is %s', (_name, body) => {
    expect(() => parseSignatureManifest(body, 3)).toThrow(/signature manifest/);
  });
});

describe('signedDigest', () => {
  it.each<[string, Buffer, string | RegExp]>([
    ['a cosign payload', simpleSigningPayload(DIGEST_A), DIGEST_A],
    ['another type', Buffer.from(JSON.stringify({ critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': DIGEST_A } } })), /not a cosign container image signature/],
    ['no digest', Buffer.from(JSON.stringify({ critical: { type: 'cosign container image signature', image: {} } })), /no docker-manifest-digest/],
    ['not JSON', Buffer.from('sha256:abc'), /not JSON/],
  ])('%s', (_name, payload, expected) => {
    if (typeof expected === 'string') expect(signedDigest(payload)).toBe(expected);
    else expect(() => signedDigest(payload)).toThrow(expected);
  });
});

describe('parseRekorBundle', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const payload = simpleSigningPayload(DIGEST_A);
  const annotation = rekorBundleAnnotation(privateKey, payload, signPayload(privateKey, payload), '-----BEGIN PUBLIC KEY-----', 1_700_000_000);

  it("reads cosign's annotation as the entry sigstore-js verifies", () => {
    const entry = parseRekorBundle(annotation);
    expect(entry.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.1' });
    expect(entry.integratedTime).toBe('1700000000');
    expect(entry.logIndex).toBe('7');
    expect(entry.logId.keyId).toHaveLength(32);
    expect(entry.inclusionPromise?.signedEntryTimestamp.length).toBeGreaterThan(0);
  });

  it.each([
    ['not JSON', 'nope'],
    ['no Payload', JSON.stringify({ SignedEntryTimestamp: 'x' })],
    ['a logID that is not hex', JSON.stringify({ ...JSON.parse(annotation), Payload: { ...JSON.parse(annotation).Payload, logID: 'zz' } })],
    ['a body that is no entry', JSON.stringify({ ...JSON.parse(annotation), Payload: { ...JSON.parse(annotation).Payload, body: Buffer.from('{}').toString('base64') } })],
  ])('refuses one that is %s', (_name, text) => {
    expect(() => parseRekorBundle(text)).toThrow(new RegExp(`${REKOR_BUNDLE_ANNOTATION}|Rekor entry body`));
  });
});
