/**
 * Where a digest's signatures are, and reading them within bounds: cosign's tag scheme
 * (`sha256-<hex>.sig`), then the OCI 1.1 referrers API, or, on a registry without it, the referrers
 * tag schema (`sha256-<hex>`), for sigstore bundles that newer cosign attaches as referrers. Each
 * source is read only when the one before it verified nothing, so a signed image costs one manifest
 * and one payload request, and a verdict once made costs none (verdicts.ts).
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { toSignedEntity } from '@sigstore/verify';
import { digestOf, MediaType, RegistryError, type RepositoryReader } from '../registry/index.js';
import { isObject, parseJsonObject, parseSignatureManifest, quote, referrersTag, signatureTag, signedDigest, SignatureLimits } from './cosign.js';
import { dsseSignature, PayloadSignature, type FoundSignature } from './verify.js';

/** Signatures found in one place, and what was there but could not be used. */
export interface SignatureSource {
  name: string;
  found: FoundSignature[];
  /** Each thing left out and why, for the message when nothing verifies. */
  notes: string[];
}

const { OciManifest: OCI_MANIFEST, OciIndex: OCI_INDEX, DockerManifest: DOCKER_MANIFEST } = MediaType;
/** The artifact types cosign gives a sigstore bundle attached as a referrer. */
export const BUNDLE_ARTIFACT_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
]);
/**
 * cosign 3.0 writes its referrers' index entries with the artifact type `application/vnd.oci.empty.v1+json`
 * (the config's media type) while the manifest itself says the bundle type: such entries, and entries
 * without one, are read too, and the manifest's own artifact type decides.
 */
const UNDECLARED_ARTIFACT_TYPES: ReadonlySet<string> = new Set(['application/vnd.oci.empty.v1+json', '']);
/** The in-toto statement type of a DSSE-signed bundle, and cosign's predicate for an image signature. */
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** The signatures under cosign's tag scheme: one per Simple Signing layer of `sha256-<hex>.sig`. */
export async function tagSchemeSignatures(reader: RepositoryReader, digest: string): Promise<SignatureSource> {
  const tag = signatureTag(digest);
  const source: SignatureSource = { name: `tag ${tag}`, found: [], notes: [] };
  const manifest = await reader.get(`manifests/${tag}`, `${OCI_MANIFEST}, ${DOCKER_MANIFEST}`, SignatureLimits.manifestBytes);
  if (manifest === 'not-found') return source;
  if (manifest === 'too-large') {
    source.notes.push(`the signature manifest ${tag} is larger than ${SignatureLimits.manifestBytes} bytes and was not read`);
    return source;
  }
  let layers;
  try {
    layers = parseSignatureManifest(manifest, SignatureLimits.signatures);
  } catch (error) {
    source.notes.push(`${tag}: ${(error as Error).message}`);
    return source;
  }
  source.notes.push(...layers.skipped.map((note) => `${tag} ${note}`));
  for (const [index, layer] of layers.layers.entries()) {
    const where = `tag ${tag} layer ${index + 1}`;
    try {
      const payload = await readBlob(reader, layer.payloadDigest, SignatureLimits.payloadBytes);
      source.found.push({
        where,
        signedDigest: signedDigest(payload),
        signature: new PayloadSignature(payload, layer.signature),
        certificate: layer.certificatePem === undefined ? undefined : X509Certificate.parse(layer.certificatePem),
        tlogEntries: layer.tlogEntry ? [layer.tlogEntry] : [],
      });
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      source.notes.push(`${where}: ${(error as Error).message}`);
    }
  }
  return source;
}

/**
 * The sigstore bundles attached to `digest` as referrers: from the referrers API, or from the
 * referrers tag schema's index where the registry has no such API (it answers 404).
 */
export async function referrerSignatures(reader: RepositoryReader, digest: string): Promise<SignatureSource> {
  const source: SignatureSource = { name: 'referrers', found: [], notes: [] };
  let index = await reader.get(`referrers/${digest}`, OCI_INDEX, SignatureLimits.referrersIndexBytes);
  if (index === 'not-found') {
    source.name = `referrers tag ${referrersTag(digest)}`;
    index = await reader.get(`manifests/${referrersTag(digest)}`, OCI_INDEX, SignatureLimits.referrersIndexBytes);
  }
  if (index === 'not-found') return source;
  if (index === 'too-large') {
    source.notes.push(`the ${source.name} index is larger than ${SignatureLimits.referrersIndexBytes} bytes and was not read`);
    return source;
  }
  let descriptors: unknown[];
  try {
    const parsed = parseJsonObject(index, `the ${source.name} index`);
    if (!Array.isArray(parsed.manifests)) throw new Error(`the ${source.name} index has no manifests list`);
    descriptors = parsed.manifests;
  } catch (error) {
    source.notes.push((error as Error).message);
    return source;
  }
  const bundles = descriptors.filter((d) => isObject(d) && (BUNDLE_ARTIFACT_TYPES.has(String(d.artifactType ?? '')) || UNDECLARED_ARTIFACT_TYPES.has(String(d.artifactType ?? ''))));
  if (bundles.length > SignatureLimits.signatures) {
    source.notes.push(`${bundles.length - SignatureLimits.signatures} more sigstore bundles than the ${SignatureLimits.signatures} the controller tries were left out`);
  }
  for (const descriptor of bundles.slice(0, SignatureLimits.signatures) as Record<string, unknown>[]) {
    const where = `referrer ${typeof descriptor.digest === 'string' ? descriptor.digest.slice(0, 19) : '?'}`;
    try {
      source.found.push(await readBundle(reader, descriptor, where));
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      source.notes.push(`${where}: ${(error as Error).message}`);
    }
  }
  return source;
}

/** One referrer: its manifest, whose one layer is the sigstore bundle, read and made a FoundSignature. */
async function readBundle(reader: RepositoryReader, descriptor: Record<string, unknown>, where: string): Promise<FoundSignature> {
  if (typeof descriptor.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(descriptor.digest)) throw new UnusableSignature(`digest ${quote(descriptor.digest)} is not a sha256 digest`);
  const manifestBody = await reader.get(`manifests/${descriptor.digest}`, OCI_MANIFEST, SignatureLimits.manifestBytes);
  if (manifestBody === 'not-found') throw new UnusableSignature('its manifest is missing');
  if (manifestBody === 'too-large') throw new UnusableSignature(`its manifest is larger than ${SignatureLimits.manifestBytes} bytes`);
  if (digestOf(manifestBody) !== descriptor.digest) throw new UnusableSignature('its manifest does not match its digest');
  const manifest = parseJsonObject(manifestBody, 'its manifest');
  if (!BUNDLE_ARTIFACT_TYPES.has(String(manifest.artifactType))) throw new UnusableSignature(`its artifact type ${quote(manifest.artifactType)} is not a sigstore bundle`);
  const layer = Array.isArray(manifest.layers) ? manifest.layers[0] : undefined;
  if (!isObject(layer) || typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest)) throw new UnusableSignature('its manifest has no bundle layer');
  const bundleBody = await readBlob(reader, layer.digest, SignatureLimits.bundleBytes);
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bundleBody.toString('utf8')));
  } catch (error) {
    throw new UnusableSignature(`its layer is not a sigstore bundle: ${(error as Error).message}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new UnusableSignature('its bundle signs no DSSE envelope (an image signature bundle signs an in-toto statement)');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new UnusableSignature(`its envelope's payload type ${quote(envelope.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const entity = toSignedEntity(bundle);
  return {
    where,
    signedDigest: statementSubject(envelope.payload),
    signature: dsseSignature(entity.signature, envelope.payloadType, envelope.payload),
    certificate: entity.key.$case === 'certificate' ? entity.key.certificate : undefined,
    tlogEntries: bundle.verificationMaterial.tlogEntries,
  };
}

/**
 * The image digest an in-toto statement is about: its one subject's sha256. Only cosign's signature
 * predicate counts: an attestation (an SBOM, provenance) signed by the same key is no signature.
 */
function statementSubject(payload: Buffer): string {
  const statement = parseJsonObject(payload, 'the in-toto statement');
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) throw new UnusableSignature(`its statement's predicate ${quote(statement.predicateType)} is not ${COSIGN_SIGN_PREDICATE} (an attestation, not a signature)`);
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  const digest = subjects.length === 1 && isObject(subjects[0]) && isObject(subjects[0].digest) ? subjects[0].digest.sha256 : undefined;
  if (typeof digest !== 'string' || !/^[a-f0-9]{64}$/.test(digest)) throw new UnusableSignature('the in-toto statement does not name exactly one sha256 subject');
  return `sha256:${digest}`;
}

/** A blob whose bytes must hash to `digest`: the registry serves it, so nothing else vouches for it. */
async function readBlob(reader: RepositoryReader, digest: string, maxBytes: number): Promise<Buffer> {
  const blob = await reader.get(`blobs/${digest}`, '*/*', maxBytes);
  if (blob === 'not-found') throw new UnusableSignature(`blob ${digest} is missing`);
  if (blob === 'too-large') throw new UnusableSignature(`blob ${digest} is larger than ${maxBytes} bytes and was not read`);
  if (digestOf(blob) !== digest) throw new UnusableSignature(`blob ${digest} does not match its digest`);
  return blob;
}

/** Something read for a signature is unusable: noted, and the next signature tried. */
class UnusableSignature extends Error {}
