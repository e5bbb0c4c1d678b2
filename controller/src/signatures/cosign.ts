/**
 * Cosign's storage formats, read without trusting them: the signature manifest under the tag scheme
 * (`sha256-<hex>.sig`, one Simple Signing layer per signature, the signature and certificates in layer
 * annotations, a Rekor entry as a JSON "bundle" annotation) and the Simple Signing payload itself.
 * Everything here is pure and bounded: a registry controls every byte of it.
 */
import type { TransparencyLogEntry } from '@sigstore/bundle';

/** Cosign's media type for a Simple Signing payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The `critical.type` every cosign image signature payload carries. */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/**
 * Bounds on what a registry can make the controller read for one digest. Cosign's own signatures are
 * far smaller: a payload of ~250 bytes, a certificate of ~1 KiB, a signature manifest of a few KiB.
 */
export const SignatureLimits = {
  /** A signature manifest (tag scheme) or a referrer's manifest. */
  manifestBytes: 256 * 1024,
  /** A Simple Signing payload. */
  payloadBytes: 64 * 1024,
  /** One annotation's value: a base64 signature, a PEM certificate or chain, a Rekor bundle. */
  annotationBytes: 32 * 1024,
  /** Signatures tried per digest, across the tag scheme and referrers. */
  signatures: 16,
  /** The referrers index (API answer or fallback tag): ~200 bytes a descriptor, so ~2,500 referrers. */
  referrersIndexBytes: 512 * 1024,
  /** A sigstore bundle found as a referrer. */
  bundleBytes: 128 * 1024,
} as const;

/** One Simple Signing layer of a signature manifest, as it names its payload and carries its signature. */
export interface SignatureLayer {
  /** The payload blob's digest (`sha256:…`) and declared size. */
  payloadDigest: string;
  payloadSize: number;
  /** The signature, decoded from base64. */
  signature: Buffer;
  certificatePem?: string;
  chainPem?: string;
  /** The Rekor entry cosign attached (`dev.sigstore.cosign/bundle`), as sigstore-js reads one. */
  tlogEntry?: TransparencyLogEntry;
}

/** What could be read of a signature manifest: its layers, and why others were left out. */
export interface SignatureManifest {
  layers: SignatureLayer[];
  /** Each layer not used and why, for the message when nothing verifies. */
  skipped: string[];
}

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The tag cosign's tag scheme stores `digest`'s signatures under: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The tag the OCI referrers tag schema stores `digest`'s referrers index under: `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** Reads a signature manifest: its Simple Signing layers, at most `maxLayers` of them. Throws when it is not one. */
export function parseSignatureManifest(body: Buffer, maxLayers: number): SignatureManifest {
  const manifest = parseJsonObject(body, 'the signature manifest');
  if (!Array.isArray(manifest.layers)) throw new Error('the signature manifest has no layers');
  const layers: SignatureLayer[] = [];
  const skipped: string[] = [];
  for (const [index, layer] of manifest.layers.entries()) {
    if (layers.length === maxLayers) {
      skipped.push(`${manifest.layers.length - index} more layers beyond the ${maxLayers} the controller tries`);
      break;
    }
    try {
      layers.push(parseLayer(layer));
    } catch (error) {
      skipped.push(`layer ${index + 1}: ${(error as Error).message}`);
    }
  }
  return { layers, skipped };
}

function parseLayer(layer: unknown): SignatureLayer {
  if (!isObject(layer)) throw new Error('not a descriptor');
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) throw new Error(`media type ${quote(layer.mediaType)} is not ${SIMPLE_SIGNING_MEDIA_TYPE}`);
  if (typeof layer.digest !== 'string' || !SHA256_DIGEST.test(layer.digest)) throw new Error(`digest ${quote(layer.digest)} is not a sha256 digest`);
  if (typeof layer.size !== 'number' || !Number.isSafeInteger(layer.size) || layer.size < 0) throw new Error('size is not a byte count');
  if (layer.size > SignatureLimits.payloadBytes) throw new Error(`payload of ${layer.size} bytes is larger than the ${SignatureLimits.payloadBytes} the controller reads`);
  const annotations = isObject(layer.annotations) ? layer.annotations : {};
  const signature = annotation(annotations, SIGNATURE_ANNOTATION);
  if (signature === undefined) throw new Error(`no ${SIGNATURE_ANNOTATION} annotation`);
  const rekorBundle = annotation(annotations, REKOR_BUNDLE_ANNOTATION);
  return {
    payloadDigest: layer.digest,
    payloadSize: layer.size,
    signature: Buffer.from(signature, 'base64'),
    certificatePem: annotation(annotations, CERTIFICATE_ANNOTATION),
    chainPem: annotation(annotations, CHAIN_ANNOTATION),
    tlogEntry: rekorBundle === undefined ? undefined : parseRekorBundle(rekorBundle),
  };
}

function annotation(annotations: Record<string, unknown>, name: string): string | undefined {
  const value = annotations[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`annotation ${name} is not a string`);
  if (value.length > SignatureLimits.annotationBytes) throw new Error(`annotation ${name} is longer than ${SignatureLimits.annotationBytes} bytes`);
  return value;
}

/**
 * Cosign's Rekor bundle annotation (`{"SignedEntryTimestamp", "Payload": {body, integratedTime, logIndex,
 * logID}}`) as the TransparencyLogEntry sigstore-js verifies: its signed entry timestamp (the log's
 * promise of inclusion) over exactly these fields, and its body against the signature.
 */
export function parseRekorBundle(text: string): TransparencyLogEntry {
  const bundle = parseJsonObject(Buffer.from(text, 'utf8'), `the ${REKOR_BUNDLE_ANNOTATION} annotation`);
  const payload = bundle.Payload;
  if (typeof bundle.SignedEntryTimestamp !== 'string' || !isObject(payload)) throw new Error(`the ${REKOR_BUNDLE_ANNOTATION} annotation is not a Rekor bundle`);
  const { body, integratedTime, logIndex, logID } = payload;
  if (typeof body !== 'string' || !Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex) || typeof logID !== 'string' || !/^[a-f0-9]{64}$/.test(logID)) {
    throw new Error(`the ${REKOR_BUNDLE_ANNOTATION} annotation's Payload lacks body, integratedTime, logIndex or logID`);
  }
  const canonicalizedBody = Buffer.from(body, 'base64');
  const entry = parseJsonObject(canonicalizedBody, 'the Rekor entry body');
  if (typeof entry.kind !== 'string' || typeof entry.apiVersion !== 'string') throw new Error('the Rekor entry body has no kind or apiVersion');
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex') },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(bundle.SignedEntryTimestamp, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody,
  };
}

/** The digest a Simple Signing payload vouches for (`critical.image.docker-manifest-digest`). Throws when it is not one. */
export function signedDigest(payload: Buffer): string {
  const parsed = parseJsonObject(payload, 'the Simple Signing payload');
  const critical = parsed.critical;
  if (!isObject(critical) || critical.type !== SIMPLE_SIGNING_TYPE) throw new Error(`the payload is not a ${SIMPLE_SIGNING_TYPE}`);
  const digest = isObject(critical.image) ? critical.image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string') throw new Error('the payload names no docker-manifest-digest');
  return digest;
}

export function parseJsonObject(body: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (!isObject(value)) throw new Error(`${what} is not a JSON object`);
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value a registry sent, quoted for a message and cut short. */
export function quote(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
