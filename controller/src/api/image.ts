/**
 * The Image API (example.com/v1, kind Image), declared once: the OpenAPI schema the API server enforces
 * is written here as a plain `as const` literal, and the TypeScript types the controller reads and
 * writes are derived from it by json-schema-to-ts (`FromSchema`, types only: nothing of it reaches the
 * bundle), so a field cannot be added to one and not the other. The ImageCrd construct in charts/ puts
 * the same schema in the CustomResourceDefinition; api/image.test.ts checks both ways.
 *
 * The seed's contract is kept exactly: `spec.image` in, `status.latestImage` (repo@sha256:…) and
 * `status.complete` out. Cartographer's ClusterImageTemplate reads `.status.latestImage` as its imagePath.
 */
import type { FromSchema } from 'json-schema-to-ts';

export const IMAGE_GROUP = 'example.com';
export const IMAGE_VERSION = 'v1';
export const IMAGE_KIND = 'Image';
export const IMAGE_LIST_KIND = 'ImageList';
export const IMAGE_PLURAL = 'images';
export const IMAGE_SINGULAR = 'image';
export const IMAGE_API_VERSION = `${IMAGE_GROUP}/${IMAGE_VERSION}`;

/** The shortest and longest `spec.interval` the controller accepts; outside them an Image is refused. */
export const MIN_INTERVAL = '1s';
export const MAX_INTERVAL = '24h';

/** Longest `spec.image` the API server accepts: a registry name is at most 255 characters plus a 128-character tag. */
export const MAX_IMAGE_REFERENCE_LENGTH = 512;

/** The most `spec.maxTags` may ask for; the controller's `--max-tags` caps it further. */
export const MAX_TAGS_LIMIT = 1_000_000;
/** Longest pattern or range a tag policy takes: enough for any real one, and bounded for CEL and RE2. */
const MAX_POLICY_TEXT = 256;

/**
 * Why an Image is or is not Ready. Every failure reason names something a person can go and fix;
 * the condition's message says what.
 */
export const ImageReason = {
  /** The registry answered with a digest for the tag. */
  DigestResolved: 'DigestResolved',
  /** `spec.suspend` is true: nothing is checked and the last digest is kept. */
  Suspended: 'Suspended',
  /** The spec cannot be acted on: a malformed reference, a digest reference, a bad interval. */
  InvalidSpec: 'InvalidSpec',
  /** The registry is not in `--allowed-registries`, or resolves to an address the controller refuses to probe. */
  RegistryNotAllowed: 'RegistryNotAllowed',
  /** Plain HTTP was needed for a non-loopback registry without `spec.insecure`. */
  InsecureNotAllowed: 'InsecureNotAllowed',
  /** A pull secret, ServiceAccount or CA Secret named by the spec is missing or unusable. */
  CredentialsUnavailable: 'CredentialsUnavailable',
  /** The repository or the tag does not exist. */
  NotFound: 'NotFound',
  /** The registry refused the credentials (401), or asked for some and none were given. */
  Unauthorized: 'Unauthorized',
  /** The registry knows who we are and still says no (403). */
  Forbidden: 'Forbidden',
  /** The registry said 429; the controller waits for its Retry-After. */
  RateLimited: 'RateLimited',
  /** The registry could not be reached or answered with a server error, a timeout or a bad TLS handshake. */
  RegistryUnavailable: 'RegistryUnavailable',
  /** The registry answered with something that is not a manifest (no digest, too large, wrong type). */
  InvalidManifest: 'InvalidManifest',
  /**
   * `spec.verification` asks for a signature and the digest has none that verifies (unsigned, another
   * key, another digest's signature, an identity mismatch, an expired chain). Enforced, the last verified
   * digest stays; in warn mode the digest is deployed and this reason goes on a Warning Event.
   */
  SignatureUnverified: 'SignatureUnverified',
  /** A key or trust-root Secret named by `spec.verification` is missing or malformed; the last verified digest stays. */
  TrustUnavailable: 'TrustUnavailable',
  /** `spec.policy` chose no tag among those listed; the last choice is kept. */
  NoMatchingTag: 'NoMatchingTag',
  /** The tag list hit a bound (tags, pages, bytes) or led elsewhere; an incomplete list is not chosen from. */
  TagListTruncated: 'TagListTruncated',
} as const;
export type ImageReason = (typeof ImageReason)[keyof typeof ImageReason];

const GO_DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

const tagOrder = <const D extends string>(description: D) =>
  ({
    type: 'object',
    description,
    properties: {
      order: { type: 'string', enum: ['asc', 'desc'], description: 'asc (the default) takes the last tag in this order, desc the first.' },
    },
  }) as const;

const localObjectReference = <const D extends string>(description: D) =>
  ({
    type: 'object',
    description,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 253, description: "Name of the object in the Image's namespace." },
    },
  }) as const;

/** Most authorities, identities per authority, and tenant-written regex length a verification block may have. */
export const MAX_AUTHORITIES = 8;
export const MAX_IDENTITIES = 16;
export const MAX_IDENTITY_PATTERN_LENGTH = 1024;

/** The Secret keys the verification block reads: cosign's own (`cosign generate-key-pair k8s://…` writes cosign.pub). */
export const PUBLIC_KEY_SECRET_KEY = 'cosign.pub';
export const ROOT_CA_SECRET_KEY = 'ca.crt';
export const TLOG_KEY_SECRET_KEY = 'rekor.pub';

export const VerificationMode = { Enforce: 'enforce', Warn: 'warn' } as const;
export type VerificationMode = (typeof VerificationMode)[keyof typeof VerificationMode];

const identityPattern = <const D extends string>(description: D) => ({ type: 'string', minLength: 1, maxLength: MAX_IDENTITY_PATTERN_LENGTH, description }) as const;

/**
 * One keyless identity: the OIDC issuer and the subject (the certificate's email or URI SAN), each
 * exact or an RE2 regular expression (sigstore policy-controller's `identities`).
 */
const keylessIdentitySchema = {
  type: 'object',
  properties: {
    issuer: identityPattern('The OIDC issuer the certificate names, exactly.'),
    issuerRegExp: identityPattern('The OIDC issuer, as an RE2 regular expression; like cosign --certificate-oidc-issuer-regexp it may match part of it unless anchored with ^…$.'),
    subject: identityPattern("The certificate's subject (email or URI SAN), exactly."),
    subjectRegExp: identityPattern('The subject, as an RE2 regular expression; like cosign --certificate-identity-regexp it may match part of it unless anchored with ^…$.'),
  },
  'x-kubernetes-validations': [
    { rule: 'has(self.issuer) != has(self.issuerRegExp)', message: 'an identity has exactly one of issuer and issuerRegExp' },
    { rule: 'has(self.subject) != has(self.subjectRegExp)', message: 'an identity has exactly one of subject and subjectRegExp' },
  ],
} as const;

/** Who may sign: a public key, or keyless identities under a certificate chain (policy-controller's `authorities[]`). */
const authoritySchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63, description: 'Names the authority in status, conditions and Events.' },
    key: {
      type: 'object',
      required: ['secretRef'],
      description: 'Signatures made with one key pair (cosign sign --key).',
      properties: {
        secretRef: localObjectReference(`Secret whose ${PUBLIC_KEY_SECRET_KEY} key holds the PEM public key: ECDSA P-256/P-384, Ed25519 or RSA.`),
      },
    },
    keyless: {
      type: 'object',
      required: ['identities', 'trustRootRef'],
      description: 'Signatures made with a short-lived certificate for an OIDC identity (cosign keyless signing).',
      properties: {
        identities: { type: 'array', minItems: 1, maxItems: MAX_IDENTITIES, items: keylessIdentitySchema },
        trustRootRef: localObjectReference(
          `Secret whose ${ROOT_CA_SECRET_KEY} key holds the PEM root (and intermediate) certificates the signing certificate must chain to, and, optionally, ${TLOG_KEY_SECRET_KEY} the transparency log's PEM public key: with it, a log entry's signed timestamp must verify.`,
        ),
      },
    },
  },
  'x-kubernetes-validations': [{ rule: 'has(self.key) != has(self.keyless)', message: 'an authority has exactly one of key and keyless' }],
} as const;

/** `spec.verification`: deploy only digests signed by one of the authorities (cosign signatures in the registry). */
const verificationSchema = {
  type: 'object',
  required: ['authorities'],
  description: 'Deploy only digests with a cosign signature that verifies under one of the authorities.',
  properties: {
    mode: {
      type: 'string',
      enum: Object.values(VerificationMode),
      description: 'enforce (the default): an unverified digest never reaches status.latestImage. warn: deploy it and record a Warning.',
    },
    authorities: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_AUTHORITIES,
      items: authoritySchema,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    },
  },
} as const;

export const imageSpecSchema = {
  type: 'object',
  required: ['image'],
  properties: {
    image: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_IMAGE_REFERENCE_LENGTH,
      description: 'Reference to watch, [host[:port]/]path[:tag]; the tag defaults to latest.',
      // The full reference grammar is checked by the controller, which reports it on the Ready
      // condition; these rules catch the common mistakes at `kubectl apply` time with a clear message.
      'x-kubernetes-validations': [
        {
          rule: "!self.contains('://')",
          message: 'spec.image must not start with a scheme such as https://; write host[:port]/path[:tag]',
        },
        {
          // `sha256:<hex>` and a bare 64-hex image ID are digests too (as `docker pull` reads them); taken
          // for a Docker Hub repository named "sha256", they would send the controller off to Docker Hub.
          rule: "!self.contains('@') && !self.matches('^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}|[a-f0-9]{64})$')",
          message: 'spec.image must be a tag reference: a digest (@sha256:…) never moves, so there is nothing to watch',
        },
        {
          rule: "self.matches('^[^\\\\s]+$')",
          message: 'spec.image must not contain spaces',
        },
      ],
    },
    interval: {
      type: 'string',
      pattern: GO_DURATION,
      description: `How often to check the registry, as a Go duration (10s, 1m30s), between ${MIN_INTERVAL} and ${MAX_INTERVAL}. Defaults to the controller's --interval.`,
      'x-kubernetes-validations': [
        {
          rule: `duration(self) >= duration('${MIN_INTERVAL}') && duration(self) <= duration('${MAX_INTERVAL}')`,
          message: `spec.interval must be between ${MIN_INTERVAL} and ${MAX_INTERVAL}`,
        },
      ],
    },
    insecure: {
      type: 'boolean',
      description: 'Allow plain HTTP to this registry. Loopback registries are always allowed.',
    },
    pullSecrets: {
      type: 'array',
      maxItems: 32,
      description: 'kubernetes.io/dockerconfigjson Secrets in this namespace with registry credentials.',
      items: localObjectReference('A kubernetes.io/dockerconfigjson Secret.'),
    },
    serviceAccountName: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      description: "Also use this ServiceAccount's imagePullSecrets.",
    },
    caSecretRef: localObjectReference('Secret with a ca.crt key: the CA of a registry the system CAs do not trust.'),
    suspend: {
      type: 'boolean',
      description: 'Stop checking and keep the last status.',
    },
    verification: verificationSchema,
    policy: {
      type: 'object',
      description:
        "Choose the newest of the repository's tags instead of following one tag (Flux ImagePolicy's vocabulary). " +
        'With a policy, spec.image names the repository, without a tag.',
      properties: {
        semver: {
          type: 'object',
          description: 'The highest semantic version (1.2.3 or v1.2.3) in the range.',
          required: ['range'],
          properties: {
            range: { type: 'string', minLength: 1, maxLength: MAX_POLICY_TEXT, description: 'A semver range, e.g. ">=1.2.0 <2" or "1.x".' },
          },
        },
        alphabetical: tagOrder('The last tag in alphabetical order (e.g. RELEASE.2024-06-01T00-00-00Z).'),
        numerical: tagOrder('The highest tag that is a number (e.g. a build number or a timestamp).'),
      },
      'x-kubernetes-validations': [
        {
          rule: "[has(self.semver), has(self.alphabetical), has(self.numerical)].filter(x, x).size() == 1",
          message: 'spec.policy must choose exactly one of semver, alphabetical or numerical',
        },
      ],
    },
    filterTags: {
      type: 'object',
      description: 'Only tags matching pattern (RE2 syntax) are considered; extract ($1, $name) makes the value the policy orders.',
      properties: {
        pattern: { type: 'string', minLength: 1, maxLength: MAX_POLICY_TEXT },
        extract: { type: 'string', minLength: 1, maxLength: MAX_POLICY_TEXT },
      },
      'x-kubernetes-validations': [{ rule: '!has(self.extract) || has(self.pattern)', message: 'spec.filterTags.extract needs spec.filterTags.pattern' }],
    },
    exclusionList: {
      type: 'array',
      maxItems: 25,
      description: "Tags matching any of these patterns (RE2 syntax) are never chosen. Defaults to cosign's sha256-<digest>.sig, .att and .sbom tags.",
      items: { type: 'string', minLength: 1, maxLength: MAX_POLICY_TEXT },
    },
    maxTags: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_TAGS_LIMIT,
      description: "Most tags listed per check; a longer list is reported as truncated and not chosen from. Defaults to 10,000; the controller's --max-tags caps it.",
    },
  },
  'x-kubernetes-validations': [
    {
      // The tag after the last "/" (a port's colon comes before it).
      rule: "!has(self.policy) || !self.image.matches(':[^/]*$')",
      message: 'spec.image must name a repository without a tag when spec.policy chooses the tag',
    },
    {
      rule: 'has(self.policy) || !(has(self.filterTags) || has(self.exclusionList) || has(self.maxTags))',
      message: 'spec.filterTags, spec.exclusionList and spec.maxTags apply only with spec.policy',
    },
  ],
} as const;

/** Longest `status.verification.message`: the full reasons are on the Ready condition and the Event. */
export const MAX_VERIFICATION_MESSAGE_LENGTH = 1024;

/** Longest condition message the API server accepts (metav1.Condition's limit). */
export const MAX_CONDITION_MESSAGE_LENGTH = 32_768;

/** A standard Kubernetes condition (metav1.Condition). The controller sets one of type `Ready`; others belong to someone else. */
export const imageConditionSchema = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: MAX_CONDITION_MESSAGE_LENGTH },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
  },
} as const;

export const imageStatusSchema = {
  type: 'object',
  properties: {
    latestImage: { type: 'string', description: 'repo@sha256:…, the digest reference the supply chain deploys.' },
    latestTag: { type: 'string', description: 'The tag spec.policy chose, whose digest latestImage is.' },
    complete: { type: 'boolean', description: 'True once a digest has been resolved.' },
    digest: { type: 'string', description: 'The resolved digest; for a multi-arch image, the index digest.' },
    mediaType: { type: 'string', description: 'Media type of the manifest or index the digest names.' },
    observedGeneration: { type: 'integer', format: 'int64' },
    verification: {
      type: 'object',
      description: 'The signature verdict for status.digest, when spec.verification asks for one.',
      required: ['digest', 'verified'],
      properties: {
        digest: { type: 'string' },
        verified: { type: 'boolean' },
        authority: { type: 'string', description: 'The authority whose signature verified.' },
        message: { type: 'string', maxLength: MAX_VERIFICATION_MESSAGE_LENGTH, description: 'Who signed, or why no signature verified.' },
      },
    },
    conditions: {
      type: 'array',
      items: imageConditionSchema,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
} as const;

/** The schema of one Image, as `spec.versions[].schema.openAPIV3Schema` of the CRD. */
export const imageSchema = {
  type: 'object',
  description: 'An image tag whose current digest the image controller keeps in status.latestImage.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: imageSpecSchema,
    status: imageStatusSchema,
  },
} as const;

/** A JSON-schema object in the OpenAPI v3 dialect the API server accepts for CRDs. */
export type OpenApiSchema = { readonly [keyword: string]: unknown };

/**
 * What a schema's objects hold, without the `[key: string]: unknown` that FromSchema adds wherever
 * `additionalProperties` is unset (the API server prunes unknown fields, so there are none to read).
 */
type Known<T> = T extends readonly (infer U)[] ? Known<U>[] : T extends object ? { -readonly [K in keyof T as string extends K ? never : K]: Known<T[K]> } : T;

/**
 * Kubernetes' ObjectMeta, as far as the controller reads it. A CRD may not declare `metadata` beyond
 * `type: object` (the API server owns it), so this is the one part of Image whose type is written by hand.
 */
export interface ImageMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type ImageSpec = Known<FromSchema<typeof imageSpecSchema>>;
export type ImageStatus = Known<FromSchema<typeof imageStatusSchema>>;
export type ImageCondition = Known<FromSchema<typeof imageConditionSchema>>;
export type LocalObjectReference = Known<FromSchema<ReturnType<typeof localObjectReference>>>;
export type ImageVerification = NonNullable<ImageSpec['verification']>;
export type VerificationAuthority = ImageVerification['authorities'][number];
export type KeylessIdentity = Known<FromSchema<typeof keylessIdentitySchema>>;
/**
 * An Image as the API server returns it: the schema's spec and status, and the apiVersion, kind and
 * metadata the API server fills in (the schema cannot say which they are, so only they are given here).
 */
export type Image = Omit<Known<FromSchema<typeof imageSchema>>, 'apiVersion' | 'kind' | 'metadata'> & {
  apiVersion: typeof IMAGE_API_VERSION;
  kind: typeof IMAGE_KIND;
  metadata: ImageMetadata;
};

/** A core/v1 Event to record against an Image. */
export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: ImageReason;
  message: string;
}

/**
 * The Image's namespace. Images are namespaced, so the API server always sets it; a hand-made object
 * without one is read the way kubectl reads it, as `default`, by everything that keys or writes by it.
 */
export function imageNamespace(image: Pick<Image, 'metadata'>): string {
  return image.metadata.namespace ?? 'default';
}

/** `kubectl get images` columns: the seed showed IMAGE and LATEST; TAG is what a policy chose. */
export const imagePrinterColumns = [
  { name: 'Image', type: 'string', jsonPath: '.spec.image' },
  { name: 'Tag', type: 'string', jsonPath: '.status.latestTag' },
  { name: 'Latest', type: 'string', jsonPath: '.status.latestImage' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;
