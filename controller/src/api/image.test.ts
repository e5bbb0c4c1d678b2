// The Image types and the CRD schema are one declaration (types derived from the schema); these tests
// fail if they drift apart anyway: a field a type has and the schema lacks is one the API server
// silently prunes, and a status the controller writes that the schema refuses is a patch that fails.
import { Ajv } from 'ajv';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { desiredStatus, type CheckOutcome } from '../reconcile/status.js';
import { DIGEST_A, makeImage, OCI_INDEX } from '../testing/images.js';
import { IMAGE_API_VERSION, IMAGE_KIND, ImageReason, imageSchema, type Image, type ImageSpec, type ImageStatus, type OpenApiSchema } from './image.js';

/** Every field present, all the way down: adding a field to a type breaks this until it is filled in. */
type Complete<T> = T extends readonly (infer U)[] ? Complete<U>[] : T extends object ? { [K in keyof T]-?: Complete<T[K]> } : T;

const complete: Complete<Image> = {
  apiVersion: IMAGE_API_VERSION,
  kind: IMAGE_KIND,
  metadata: {
    name: 'demo',
    namespace: 'default',
    uid: 'uid-1',
    generation: 2,
    resourceVersion: '7',
    creationTimestamp: '2025-01-01T00:00:00Z',
    labels: { app: 'demo' },
    annotations: { note: 'x' },
  },
  spec: {
    image: 'localhost:5000/apps/demo',
    interval: '1m',
    insecure: false,
    pullSecrets: [{ name: 'regcred' }],
    serviceAccountName: 'puller',
    caSecretRef: { name: 'registry-ca' },
    suspend: false,
    verification: {
      mode: 'enforce',
      authorities: [
        {
          name: 'release',
          // The schema's CEL rule allows one of key and keyless; this fixture names every field.
          key: { secretRef: { name: 'cosign-pub' } },
          keyless: {
            identities: [{ issuer: 'https://issuer.example', issuerRegExp: '^https://', subject: 'ci@example.com', subjectRegExp: '@example\\.com$' }],
            trustRootRef: { name: 'sigstore-root' },
          },
        },
      ],
    },
    // All three orders only to fill every field; the API server's CEL rule allows one.
    policy: { semver: { range: '>=1.0.0 <2' }, alphabetical: { order: 'asc' }, numerical: { order: 'desc' } },
    filterTags: { pattern: '^v(?P<version>.*)$', extract: '$version' },
    exclusionList: ['^sha256-'],
    maxTags: 5000,
  },
  status: {
    latestImage: `localhost:5000/apps/demo@${DIGEST_A}`,
    latestTag: 'v1.2.0',
    complete: true,
    digest: DIGEST_A,
    mediaType: OCI_INDEX,
    observedGeneration: 2,
    conditions: [{ type: 'Ready', status: 'True', reason: 'DigestResolved', message: 'ok', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 2 }],
    verification: { digest: DIGEST_A, verified: true, authority: 'release', message: 'signed with the key in Secret "cosign-pub"' },
  },
};

/** Paths of `value` the API server would prune: fields of an object whose schema declares properties but not them. */
function prunedPaths(value: unknown, schema: OpenApiSchema, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => prunedPaths(item, schema.items as OpenApiSchema, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || !schema.properties) return [];
  const properties = schema.properties as Record<string, OpenApiSchema>;
  return Object.entries(value).flatMap(([key, field]) => (properties[key] ? prunedPaths(field, properties[key], `${path}.${key}`) : [`${path}.${key}`]));
}

/** Every property path the schema declares (arrays as `[]`). */
function schemaPaths(schema: OpenApiSchema, path = ''): string[] {
  if (schema.type === 'array') return schemaPaths(schema.items as OpenApiSchema, `${path}[]`);
  const properties = (schema.properties ?? {}) as Record<string, OpenApiSchema>;
  return Object.entries(properties).flatMap(([key, field]) => [`${path}.${key}`, ...schemaPaths(field, `${path}.${key}`)]);
}

/** Every field path of a value (arrays as `[]`), not looking inside `metadata`, which the API server owns. */
function valuePaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => valuePaths(item, `${path}[]`)))];
  if (value === null || typeof value !== 'object' || path === '.metadata') return [];
  return Object.entries(value).flatMap(([key, field]) => [`${path}.${key}`, ...valuePaths(field, `${path}.${key}`)]);
}

const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(JSON.parse(JSON.stringify(imageSchema)));

describe('the Image API, declared once', () => {
  it('has no field in its types that the schema would prune', () => {
    expect(prunedPaths(complete, imageSchema)).toEqual([]);
  });

  it('has no field in its schema that its types lack', () => {
    expect(schemaPaths(imageSchema).sort()).toEqual(valuePaths(complete).sort());
  });

  it('accepts a complete Image, as the API server would', () => {
    expect(validate(complete) ? [] : validate.errors).toEqual([]);
  });

  it('accepts every status the controller writes', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const image = makeImage('demo', {}, complete.status);
    const outcomes: CheckOutcome[] = [
      { kind: 'resolved', digest: DIGEST_A, mediaType: OCI_INDEX, latestImage: `localhost:5000/apps/demo@${DIGEST_A}`, message: 'resolved' },
      ...Object.values(ImageReason).map((reason) => ({ kind: 'failed' as const, reason, message: `${reason}: what to fix` })),
      { kind: 'suspended' },
    ];
    for (const outcome of outcomes) {
      const status: ImageStatus = desiredStatus(image, outcome, now);
      expect(prunedPaths(status, imageSchema.properties.status), outcome.kind).toEqual([]);
      expect(validate({ ...image, status }) ? [] : validate.errors, outcome.kind).toEqual([]);
    }
  });

  it('refuses what the API server refuses, so the checks above have teeth', () => {
    expect(validate({ ...complete, spec: { interval: '1m' } })).toBe(false);
    expect(validate({ ...complete, spec: { ...complete.spec, policy: { alphabetical: { order: 'newest' } } } })).toBe(false);
    expect(validate({ ...complete, spec: { ...complete.spec, maxTags: 0 } })).toBe(false);
    expect(validate({ ...complete, status: { ...complete.status, conditions: [{ ...complete.status.conditions[0], status: 'Maybe' }] } })).toBe(false);
    expect(prunedPaths({ ...complete, spec: { ...complete.spec, intervall: '1m' } }, imageSchema)).toEqual(['.spec.intervall']);
  });

  it('types the condition status as the schema enumerates it', () => {
    expectTypeOf<NonNullable<ImageStatus['conditions']>[number]['status']>().toEqualTypeOf<'True' | 'False' | 'Unknown'>();
    expectTypeOf<Image['apiVersion']>().toEqualTypeOf<typeof IMAGE_API_VERSION>();
    expectTypeOf<keyof ImageSpec>().toEqualTypeOf<
      'image' | 'interval' | 'insecure' | 'pullSecrets' | 'serviceAccountName' | 'caSecretRef' | 'suspend' | 'verification' | 'policy' | 'filterTags' | 'exclusionList' | 'maxTags'
    >();
    expectTypeOf<ImageSpec['image']>().toEqualTypeOf<string>();
    expectTypeOf<ImageSpec['pullSecrets']>().toEqualTypeOf<{ name: string }[] | undefined>();
  });
});
