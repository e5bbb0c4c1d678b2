// The synthesized objects are what the API server will accept: every carto.run object against
// Cartographer's own CRD schema (from its Go module, the version the e2e tests run) — the app's, the
// example's and a chain with every kind of template — and the Image CRD's schema against the seed's
// example Image.
import { Ajv, type ValidateFunction } from 'ajv';
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKLOAD_SPEC_FIELDS } from '../../charts/placeholder-check.js';
import { SupplyChain } from '../../charts/supply-chain.js';
import { webServiceSupplyChain } from '../../examples/web-service.js';
import { cartographerConfigDir } from '../support/assets.js';
import { findOne, parseManifests, readManifests, repoRoot, synthesize, type Manifest } from './manifests.js';

type Schema = { [keyword: string]: any };

/**
 * An ajv validator for a CRD's openAPIV3Schema. The `x-kubernetes-*` keywords and OpenAPI formats such
 * as `int-or-string` mean nothing to ajv, so it runs non-strict without formats. Objects with declared
 * properties reject unknown fields: the API server would silently prune them, so a misspelt field is
 * a bug that only shows at run time.
 */
function validatorFor(crd: Manifest): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(rejectUnknownFields(crd.spec.versions[0].schema.openAPIV3Schema));
}

function rejectUnknownFields(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map(rejectUnknownFields);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Schema = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, rejectUnknownFields(value)]));
  if (copy.properties && !copy['x-kubernetes-preserve-unknown-fields'] && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

async function cartographerCrds(): Promise<Map<string, Manifest>> {
  const bases = join(await cartographerConfigDir(), 'crd', 'bases');
  const crds = new Map<string, Manifest>();
  for (const name of (await readdir(bases)).filter((file) => file.endsWith('.yaml'))) {
    for (const crd of parseManifests(await readFile(join(bases, name), 'utf8'))) {
      crds.set(`${crd.spec.group}/${crd.spec.names.kind}`, crd);
    }
  }
  return crds;
}

/** A chain with a resource of each kind of template: image (ytt), config and plain, with params and inputs. */
function everyTemplateKind(): Manifest[] {
  const chain = new SupplyChain(Testing.app(), 'every-kind', { name: 'every-kind', deployer: false });
  const settings = chain.addConfigResource('settings', { configPath: '.data', params: { greeting: 'hello' }, healthRule: { alwaysHealthy: {} } });
  new kplus.ConfigMap(settings, 'ConfigMap', { data: { greeting: settings.params.greeting } });
  const deployer = chain.addResource('deployer', { images: { app: chain.imageBuilder }, configs: { settings } });
  new kplus.Deployment(deployer, 'Deployment', {
    containers: [{ image: deployer.images.app, envVariables: { GREETING: kplus.EnvValue.fromValue('$(config.greeting)$') } }],
  });
  return Testing.synth(chain);
}

let manifests: Manifest[];
let dist: Manifest[];
let cartographer: Map<string, Manifest>;

beforeAll(async () => {
  [{ manifests }, { manifests: dist }, cartographer] = await Promise.all([
    synthesize(),
    readManifests(join(repoRoot, 'dist')),
    cartographerCrds(),
  ]);
}, 120_000);

function expectValid(objects: Manifest[]): void {
  for (const manifest of objects) {
    const crd = cartographer.get(`carto.run/${manifest.kind}`);
    expect(crd, `Cartographer has a CRD for ${manifest.kind}`).toBeDefined();
    expect(crd!.spec.versions.map((version: { name: string }) => version.name)).toContain(manifest.apiVersion.split('/')[1]);
    const validate = validatorFor(crd!);
    expect(validate(manifest) ? [] : validate.errors, `${manifest.kind} ${manifest.metadata.name}`).toEqual([]);
  }
}

describe("Cartographer's CRDs", () => {
  it('accept every carto.run object the app synthesizes', () => {
    const cartoObjects = manifests.filter((manifest) => manifest.apiVersion.startsWith('carto.run/'));
    expect(cartoObjects.map((manifest) => manifest.kind).sort()).toEqual([
      'ClusterImageTemplate',
      'ClusterSupplyChain',
      'ClusterTemplate',
      'Workload',
    ]);
    expectValid(cartoObjects);
  });

  it("accept every object of the README's example chain (examples/web-service.ts)", () => {
    const objects = Testing.synth(webServiceSupplyChain(Testing.app())) as Manifest[];
    expect(objects.map((manifest) => manifest.kind)).toEqual(['ClusterImageTemplate', 'ClusterTemplate', 'ClusterTemplate', 'ClusterSupplyChain']);
    expectValid(objects);
  });

  it('accept a chain with a ClusterConfigTemplate, params, health rules and config inputs', () => {
    const objects = everyTemplateKind();
    expect(objects.map((manifest) => manifest.kind)).toEqual(['ClusterImageTemplate', 'ClusterConfigTemplate', 'ClusterTemplate', 'ClusterSupplyChain']);
    expectValid(objects);
  });

  it("hold the Workload spec fields the placeholder check knows", () => {
    const workloadSchema = cartographer.get('carto.run/Workload')!.spec.versions[0].schema.openAPIV3Schema;
    expect(Object.keys(workloadSchema.properties.spec.properties).sort()).toEqual([...WORKLOAD_SPEC_FIELDS].sort());
  });

  it('reject a misspelt field, so the check above has teeth', () => {
    const template = findOne(manifests, 'ClusterImageTemplate', 'image');
    const validate = validatorFor(cartographer.get('carto.run/ClusterImageTemplate')!);
    const { imagePath, ...rest } = template.spec;
    expect(validate({ ...template, spec: { ...rest, imagePth: imagePath } })).toBe(false);
  });
});

describe('the Image CRD in dist/', () => {
  // The seed's Image, as `kubectl describe images` showed it.
  const seedImage = {
    apiVersion: 'example.com/v1',
    kind: 'Image',
    metadata: { name: 'demo', namespace: 'default' },
    spec: { image: 'localhost:5000/apps/demo' },
    status: {
      complete: true,
      latestImage: 'localhost:5000/apps/demo@sha256:72defb0353f4fb7a3869a2b89d92fbc3b6a99b48d1b960bba092fa3c8d093eed',
    },
  };

  it("accepts the seed's Image", () => {
    const validate = validatorFor(findOne(dist, 'CustomResourceDefinition', 'images.example.com'));
    expect(validate(seedImage) ? [] : validate.errors).toEqual([]);
  });

  it('rejects an Image without spec.image', () => {
    const validate = validatorFor(findOne(dist, 'CustomResourceDefinition', 'images.example.com'));
    expect(validate({ ...seedImage, spec: {} })).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ params: { missingProperty: 'image' } }));
  });
});
