// The contracts between the pieces, each named so a broken one says what broke: the controller writes
// Image.status.latestImage, the ClusterImageTemplate reads it, the supply chain hands it to the
// Deployment template as images.image.image, the Workload is selected by its label, and nobody holds
// a wildcard permission.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { Testing } from 'cdk8s';
import { parse } from 'yaml';
import { SupplyChain } from '../../charts/supply-chain.js';
import type { ImageVerification } from '../../controller/src/api/image.js';
import { LEASE_NAME } from '../../controller/src/defaults.js';
import { CONTROLLER_RBAC, LOCAL_REGISTRY_HOSTING } from '../../controller/src/kube/api.js';
import { CONTROLLER_ENV, CONTROLLER_NODE_OPTIONS } from '../../controller/src/node-options.js';
import { findOne, repoRoot, synthesize, type Manifest } from './manifests.js';

const run = promisify(execFile);

type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] };

let manifests: Manifest[];

beforeAll(async () => {
  ({ manifests } = await synthesize());
}, 120_000);

const imageTemplate = () => findOne(manifests, 'ClusterImageTemplate', 'image');
const deploymentTemplate = () => findOne(manifests, 'ClusterTemplate', 'deployment');
const supplyChain = () => findOne(manifests, 'ClusterSupplyChain', 'supply-chain');
const workload = () => findOne(manifests, 'Workload', 'demo');
const imageCrd = () => findOne(manifests, 'CustomResourceDefinition', 'images.example.com');

describe('the Image output', () => {
  it("is read from status.latestImage, the seed's field, which the Image CRD declares", () => {
    const { imagePath } = imageTemplate().spec;
    expect(imagePath).toBe('.status.latestImage');
    const schema = imageCrd().spec.versions[0].schema.openAPIV3Schema;
    const field = imagePath
      .split('.')
      .slice(1)
      .reduce((node: any, key: string) => node?.properties?.[key], schema);
    expect(field, `${imagePath} in the Image schema`).toMatchObject({ type: 'string' });
  });

  it("is trusted only once the Image's Ready condition is True", () => {
    expect(imageTemplate().spec.healthRule).toEqual({ singleConditionType: 'Ready' });
  });
});

describe('the supply chain', () => {
  it("selects Workloads labelled app.tanzu.vmware.com/workload-type: web, the demo Workload's label", () => {
    const { selector } = supplyChain().spec;
    expect(selector).toEqual({ 'app.tanzu.vmware.com/workload-type': 'web' });
    expect(workload().metadata.labels).toMatchObject(selector);
  });

  it('stamps an Image from the ClusterImageTemplate as image-builder, then the Deployment as deployer', () => {
    const resources = supplyChain().spec.resources;
    expect(resources.map((resource: { name: string }) => resource.name)).toEqual(['image-builder', 'deployer']);
    expect(resources[0].templateRef).toEqual({ kind: 'ClusterImageTemplate', name: imageTemplate().metadata.name });
    expect(resources[1].templateRef).toEqual({ kind: 'ClusterTemplate', name: deploymentTemplate().metadata.name });
  });

  it("hands image-builder's output to the deployer as the input the Deployment template reads", () => {
    const deployer = supplyChain().spec.resources.find((resource: { name: string }) => resource.name === 'deployer');
    expect(deployer.images).toEqual([{ resource: 'image-builder', name: 'image' }]);
    const [container] = deploymentTemplate().spec.template.spec.template.spec.containers;
    expect(container.image).toBe(`$(images.${deployer.images[0].name}.image)$`);
    expect(container.image).toBe('$(images.image.image)$');
  });
});

describe('the Deployment template', () => {
  it("is the seed's: one replica, named, labelled and selected by the Workload's name", () => {
    const { template } = deploymentTemplate().spec;
    const name = '$(workload.metadata.name)$';
    expect(template).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: { app: name } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name }] } },
      },
    });
  });
});

describe('the Image template', () => {
  it('declares the image_prefix param the demo Workload sets', () => {
    const declared = imageTemplate().spec.params.map((param: { name: string }) => param.name);
    const set = workload().spec.params.map((param: { name: string }) => param.name);
    expect(declared).toContain('image_prefix');
    expect(set).toEqual(['image_prefix']);
  });

  const ytt = findYtt();
  // Cartographer runs `ytt -f -` with each templating-context key as a --data-value-yaml; `params` holds
  // every param the template declares, at its default unless the Workload sets it.
  const stamp = async (workloadSpec: { params?: { name: string; value: unknown }[]; image?: string; verification?: unknown }, template = imageTemplate()) => {
    const spec = { ...workload().spec, ...workloadSpec };
    const declared = template.spec.params as { name: string; default: unknown }[];
    const params = Object.fromEntries(declared.map(({ name, default: value }) => [name, spec.params.find((p: { name: string }) => p.name === name)?.value ?? value]));
    const context = { workload: { ...workload(), spec }, params };
    const args = ['-f', '-', ...Object.entries(context).flatMap(([key, value]) => ['--data-value-yaml', `${key}=${JSON.stringify(value)}`])];
    const child = run(ytt!, args);
    child.child.stdin!.end(template.spec.ytt);
    return parse((await child).stdout);
  };

  it.skipIf(!ytt)("stamps the seed's Image: the prefix param plus the Workload's name (needs ytt: scripts/e2e-setup.sh)", async () => {
    expect(await stamp({})).toEqual({
      apiVersion: 'example.com/v1',
      kind: 'Image',
      metadata: { name: 'demo' },
      spec: { image: 'localhost:5000/apps/demo' },
    });
  });

  it.skipIf(!ytt)("uses the Workload's spec.image when it sets one (needs ytt: scripts/e2e-setup.sh)", async () => {
    expect((await stamp({ image: 'ghcr.io/example/demo:1.0' })).spec).toEqual({ image: 'ghcr.io/example/demo:1.0' });
  });

  it.skipIf(!ytt)("requires the chain's signatures of every Image it stamps, whatever the Workload says (needs ytt: scripts/e2e-setup.sh)", async () => {
    const imageVerification: ImageVerification = {
      mode: 'enforce',
      authorities: [
        { name: 'release', key: { secretRef: { name: 'cosign-pub' } } },
        { name: 'ci', keyless: { identities: [{ issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '^https://github\\.com/example/' }], trustRootRef: { name: 'sigstore-root' } } },
      ],
    };
    const chain = new SupplyChain(Testing.app(), 'signed', { imageVerification });
    const template = findOne(Testing.synth(chain) as Manifest[], 'ClusterImageTemplate', 'image');
    const stamped = await stamp({ image: 'ghcr.io/example/demo:1.0', verification: { authorities: [] } }, template);
    expect(stamped.spec).toEqual({ image: 'ghcr.io/example/demo:1.0', verification: imageVerification });
  });

  it.skipIf(!ytt)('gives the Image a semver policy when the Workload sets image_semver (needs ytt: scripts/e2e-setup.sh)', async () => {
    const params = [...workload().spec.params, { name: 'image_semver', value: '>=1.2.0 <2' }];
    expect((await stamp({ params })).spec).toEqual({ image: 'localhost:5000/apps/demo', policy: { semver: { range: '>=1.2.0 <2' } } });
  });
});

describe('RBAC', () => {
  const rulesOf = (kind: 'Role' | 'ClusterRole') =>
    manifests.filter((manifest) => manifest.kind === kind).flatMap((role) => role.rules as Rule[]);

  it('grants no wildcard in any Role or ClusterRole', () => {
    const rules = [...rulesOf('Role'), ...rulesOf('ClusterRole')];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames]) {
        expect(list ?? [], JSON.stringify(rule)).not.toContain('*');
      }
    }
  });

  // Whether these rules are exactly what the controller's calls send is the kube-layer integration
  // test's question (test/integration/kube-layer.test.ts, against a real API server); this one checks
  // that the chart grants what controller/src/kube/api.ts declares, where it must.
  it('grants the controller the rules its calls declare, in every namespace', () => {
    expect(findOne(manifests, 'ClusterRole', 'image-controller').rules).toEqual(CONTROLLER_RBAC.watchedNamespaces);
    const binding = findOne(manifests, 'ClusterRoleBinding', 'image-controller');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'image-controller', namespace: 'image-controller-system' }]);
  });

  it('lets the controller read the local registry hosting ConfigMap, by name, in kube-public', () => {
    const role = findOne(manifests, 'Role', 'image-controller-local-registry-hosting');
    expect(role.metadata.namespace).toBe(LOCAL_REGISTRY_HOSTING.namespace);
    expect(role.rules).toEqual(CONTROLLER_RBAC.localRegistryHosting);
  });

  it('lets the controller take the Lease it campaigns for, in its own namespace', () => {
    const role = findOne(manifests, 'Role', 'image-controller-leader-election');
    expect(role.metadata.namespace).toBe(findOne(manifests, 'Deployment', 'image-controller').metadata.namespace);
    expect(role.rules).toEqual(CONTROLLER_RBAC.leaseNamespace);
    expect(role.rules).toContainEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEASE_NAME], verbs: ['get', 'update'] });
  });

  it("lets the demo Workload's ServiceAccount get, create and patch each kind the templates stamp", () => {
    const { serviceAccountName } = workload().spec;
    const binding = manifests.find(
      (manifest) =>
        manifest.kind === 'RoleBinding' &&
        manifest.subjects.some((subject: { name: string }) => subject.name === serviceAccountName),
    )!;
    const rules = findOne(manifests, 'Role', binding.roleRef.name).rules as Rule[];
    const stamped = [
      { group: 'apps', resource: 'deployments' }, // the ClusterTemplate's Deployment
      { group: 'example.com', resource: 'images' }, // the ClusterImageTemplate's Image
    ];
    for (const { group, resource } of stamped) {
      const verbs = rules
        .filter((rule) => rule.apiGroups?.includes(group) && rule.resources?.includes(resource))
        .flatMap((rule) => rule.verbs);
      expect(verbs, `${resource}.${group}`).toEqual(expect.arrayContaining(['get', 'create', 'patch']));
    }
    expect(findOne(manifests, 'ServiceAccount', serviceAccountName).metadata.namespace).toBe(workload().metadata.namespace);
  });
});

describe('the controller Deployment', () => {
  it('meets the restricted Pod Security Standard', () => {
    const pod = findOne(manifests, 'Deployment', 'image-controller').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    for (const container of pod.containers) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
      });
    }
    expect(findOne(manifests, 'Namespace', 'image-controller-system').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });
});

describe('the controller process', () => {
  // The benchmark measures the controller with these heap bounds; every launcher must use the same ones.
  const source = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

  it('gets CONTROLLER_NODE_OPTIONS and CONTROLLER_ENV from the Deployment, the image and the bin launcher, which npm run controller runs', () => {
    const container = findOne(manifests, 'Deployment', 'image-controller').spec.template.spec.containers[0];
    const env = Object.entries(CONTROLLER_ENV);
    expect(container.env).toContainEqual({ name: 'NODE_OPTIONS', value: CONTROLLER_NODE_OPTIONS });
    for (const [name, value] of env) expect(container.env).toContainEqual({ name, value });
    expect(source('controller/Dockerfile')).toContain(`NODE_OPTIONS="${CONTROLLER_NODE_OPTIONS}"`);
    for (const [name, value] of env) expect(source('controller/Dockerfile')).toMatch(new RegExp(`^\\s*${name}=${value}\\b`, 'm'));
    expect(JSON.parse(source('package.json')).scripts.controller).toMatch(/&& controller\/bin\/image-controller\.js run$/);
    const assignments = env.map(([name, value]) => `${name}=${value} `).join('');
    expect(source('controller/bin/image-controller.js').split('\n')[0]).toBe(`#!/usr/bin/env -S ${assignments}node ${CONTROLLER_NODE_OPTIONS}`);
  });
});

/** ytt from KUBEBUILDER_ASSETS, the e2e asset directory (scripts/e2e-setup.sh builds it) or PATH. */
function findYtt(): string | undefined {
  const assetDir = execFileSync('bash', [join(repoRoot, 'scripts/e2e-setup.sh'), '--print-dir'], { encoding: 'utf8' }).trim();
  const candidates = [process.env.KUBEBUILDER_ASSETS, assetDir, ...(process.env.PATH ?? '').split(delimiter)]
    .filter((dir): dir is string => Boolean(dir))
    .map((dir) => join(dir, 'ytt'));
  return candidates.find((candidate) => existsSync(candidate));
}
