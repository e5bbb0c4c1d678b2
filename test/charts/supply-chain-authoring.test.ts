// Authoring a supply chain in TypeScript: each resource's one object becomes its template, inputs are
// wired by reference, cdk8s-plus's per-construct labels become per-Workload ones, and synthesis
// refuses a chain Cartographer could not stamp.
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { workload } from '../../charts/placeholders.js';
import { SupplyChain } from '../../charts/supply-chain.js';
import { findOne, type Manifest } from './manifests.js';

/** A chain with the seed's image resource and no deployer, in a test app. */
const bareChain = (name = 'web') => new SupplyChain(Testing.app(), name, { name, deployer: false });
const synth = (chain: SupplyChain) => Testing.synth(chain) as Manifest[];
const synthError = (chain: SupplyChain) => {
  try {
    Testing.synth(chain);
  } catch (error) {
    return String(error);
  }
  throw new Error('synthesis succeeded');
};

describe('a resource', () => {
  it("becomes a template holding its object, named after the Workload, and a chain entry with its inputs", () => {
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { templateName: 'web-deployment', images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app }] });
    const manifests = synth(chain);

    const template = findOne(manifests, 'ClusterTemplate', 'web-deployment').spec.template;
    expect(template).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: '$(workload.metadata.name)$' } });
    expect(template.spec.template.spec.containers[0].image).toBe('$(images.app.image)$');
    expect(findOne(manifests, 'ClusterSupplyChain', 'web').spec.resources).toEqual([
      { name: 'image-builder', templateRef: { kind: 'ClusterImageTemplate', name: 'image' } },
      { name: 'deployer', templateRef: { kind: 'ClusterTemplate', name: 'web-deployment' }, images: [{ resource: 'image-builder', name: 'app' }] },
    ]);
    // The chain comes after the templates it references, in the order resources were added.
    expect(manifests.map((manifest) => manifest.kind)).toEqual(['ClusterImageTemplate', 'ClusterTemplate', 'ClusterSupplyChain']);
  });

  it('declares its params with their defaults and reads them as placeholders', () => {
    const chain = bareChain();
    const config = chain.addResource('settings', { params: { greeting: 'hello', replicas: 2 } });
    new kplus.ConfigMap(config, 'ConfigMap', { data: { greeting: config.params.greeting } });
    const { spec } = findOne(synth(chain), 'ClusterTemplate', 'settings');
    expect(spec.params).toEqual([
      { name: 'greeting', default: 'hello' },
      { name: 'replicas', default: 2 },
    ]);
    expect(spec.template.data).toEqual({ greeting: '$(params.greeting)$' });
  });

  it("keeps a name the object sets, and takes the k8s API objects as well as cdk8s-plus's", () => {
    const chain = bareChain();
    const account = chain.addResource('account');
    new kplus.k8s.KubeServiceAccount(account, 'ServiceAccount', { metadata: { name: `${workload.name}-runner` } });
    expect(findOne(synth(chain), 'ClusterTemplate', 'account').spec.template).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: '$(workload.metadata.name)$-runner' },
    });
  });

  it('outputs a config later resources read, through a ClusterConfigTemplate', () => {
    const chain = bareChain();
    const settings = chain.addConfigResource('settings', { configPath: '.data' });
    new kplus.ConfigMap(settings, 'ConfigMap', { data: { greeting: 'hello' } });
    const app = chain.addResource('app', { configs: { settings } });
    new kplus.ConfigMap(app, 'ConfigMap', { metadata: { name: `${workload.name}-copy` }, data: { copy: `$(config.greeting)$ ${app.configs.settings}` } });
    const manifests = synth(chain);
    expect(findOne(manifests, 'ClusterConfigTemplate', 'settings').spec).toMatchObject({ configPath: '.data', template: { kind: 'ConfigMap' } });
    expect(findOne(manifests, 'ClusterSupplyChain', 'web').spec.resources[2].configs).toEqual([{ resource: 'settings', name: 'settings' }]);
  });
});

describe('number params and chain params', () => {
  it('write a number param as the whole-field placeholder, where cdk8s-plus wants a number', () => {
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { params: { replicas: 2, port: 8080 }, images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', {
      replicas: deployer.params.replicas,
      containers: [{ image: deployer.images.app, portNumber: deployer.params.port, args: [`--port=${deployer.params.port}`] }],
    });
    const { spec } = findOne(synth(chain), 'ClusterTemplate', 'deployer');
    expect(spec.params).toEqual([
      { name: 'replicas', default: 2 },
      { name: 'port', default: 8080 },
    ]);
    expect(spec.template.spec.replicas).toBe('$(params.replicas)$');
    const [container] = spec.template.spec.template.spec.containers;
    // In a number field the placeholder is the whole field (Cartographer writes the number); in a string, its text.
    expect(container.ports).toEqual([{ containerPort: '$(params.port)$' }]);
    expect(container.startupProbe.tcpSocket.port).toBe('$(params.port)$');
    expect(container.args).toEqual(['--port=$(params.port)$']);
  });

  it('declare chain params on the ClusterSupplyChain, for every resource to read', () => {
    const chain = new SupplyChain(Testing.app(), 'web', { name: 'web', deployer: false, params: { port: 8080, team: 'payments' } });
    const deployer = chain.addResource('deployer', { images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app, ports: [{ number: chain.params.port }] }] });
    const service = chain.addResource('service');
    new kplus.Service(service, 'Service', { metadata: { labels: { team: chain.params.team } }, ports: [{ port: 80, targetPort: chain.params.port }] });
    const manifests = synth(chain);
    expect(findOne(manifests, 'ClusterSupplyChain', 'web').spec.params).toEqual([
      { name: 'port', default: 8080 },
      { name: 'team', default: 'payments' },
    ]);
    expect(findOne(manifests, 'ClusterTemplate', 'deployer').spec.template.spec.template.spec.containers[0].ports).toEqual([{ containerPort: '$(params.port)$' }]);
    const serviceTemplate = findOne(manifests, 'ClusterTemplate', 'service').spec;
    expect(serviceTemplate.params).toBeUndefined();
    expect(serviceTemplate.template.metadata.labels).toEqual({ team: '$(params.team)$' });
    expect(serviceTemplate.template.spec.ports[0].targetPort).toBe('$(params.port)$');
  });
});

describe("cdk8s-plus's address labels", () => {
  const webChain = () => {
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { images: { app: chain.imageBuilder } });
    const deployment = new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app, portNumber: 8080 }] });
    const worker = chain.addResource('worker', { images: { app: chain.imageBuilder } });
    new kplus.Deployment(worker, 'Deployment', { metadata: { name: `${workload.name}-worker` }, containers: [{ image: worker.images.app }] });
    const service = chain.addResource('service');
    new kplus.Service(service, 'Service', { selector: deployment, ports: [{ port: 80, targetPort: 8080 }] });
    return synth(chain);
  };

  it('are replaced by the Workload and resource the pods belong to, wherever they select', () => {
    const manifests = webChain();
    const deployment = findOne(manifests, 'ClusterTemplate', 'deployer').spec.template;
    const labels = { 'carto.run/workload-name': '$(workload.metadata.name)$', 'carto.run/resource-name': 'deployer' };
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    expect(deployment.spec.template.metadata.labels).toEqual(labels);
    expect(findOne(manifests, 'ClusterTemplate', 'service').spec.template.spec.selector).toEqual(labels);
    expect(JSON.stringify(manifests)).not.toContain('cdk8s.io/metadata.addr');
  });

  it('keep two workloads of one Workload apart', () => {
    const manifests = webChain();
    const selector = (template: string) => findOne(manifests, 'ClusterTemplate', template).spec.template.spec.selector.matchLabels;
    expect(selector('worker')).toEqual({ 'carto.run/workload-name': '$(workload.metadata.name)$', 'carto.run/resource-name': 'worker' });
    expect(selector('worker')).not.toEqual(selector('deployer'));
  });
});

describe('synthesis fails', () => {
  it('on a placeholder the resource is not given, naming the template, the placeholder and what is available', () => {
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { templateName: 'web-deployment', params: { log_level: 'info' }, images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', {
      containers: [{ image: deployer.images.app, envVariables: { LOG_LEVEL: kplus.EnvValue.fromValue('$(params.loglevel)$') } }],
    });
    const error = synthError(chain);
    expect(error).toContain('Validation failed');
    expect(error).toContain(
      'ClusterTemplate "web-deployment" (resource "deployer" of supply chain "web") uses $(params.loglevel)$, which no resource or param provides ' +
        '(did you mean $(params.log_level)$?); available: params.log_level, images.app.image (or image)',
    );
  });

  it('on a second object in a resource, as with exposeViaService', () => {
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { images: { app: chain.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app, portNumber: 8080 }] }).exposeViaService();
    expect(synthError(chain)).toContain(
      'ClusterTemplate "deployer" (resource "deployer") must hold exactly one object, as a Cartographer template stamps one, but holds 2 (Deployment, Service)',
    );
  });

  it('on a resource with no object', () => {
    const chain = bareChain();
    chain.addResource('empty');
    expect(synthError(chain)).toContain('ClusterTemplate "empty" (resource "empty") must hold exactly one object, as a Cartographer template stamps one, but holds 0');
  });

  it('on two resources stamping the same kind and name for each Workload', () => {
    const chain = bareChain();
    for (const name of ['first', 'second']) new kplus.ConfigMap(chain.addResource(name), 'ConfigMap', { data: { name } });
    expect(synthError(chain)).toContain(
      'resources "first" and "second" of supply chain "web" both stamp a ConfigMap named $(workload.metadata.name)$ for each Workload',
    );
  });

  it("on an input from another chain's resource", () => {
    const other = bareChain('other');
    const chain = bareChain();
    const deployer = chain.addResource('deployer', { images: { app: other.imageBuilder } });
    new kplus.Deployment(deployer, 'Deployment', { containers: [{ image: deployer.images.app }] });
    expect(synthError(chain)).toContain('takes image input "app" from resource "image-builder", which is no image resource of supply chain "web"');
  });

  it('on a selector for pods of a construct outside the chain', () => {
    const chain = bareChain();
    const outside = new kplus.Deployment(Testing.chart(), 'Outside', { containers: [{ image: 'nginx' }] });
    const service = chain.addResource('service');
    new kplus.Service(service, 'Service', { selector: outside, ports: [{ port: 80 }] });
    expect(synthError(chain)).toContain('ClusterTemplate "service" (resource "service") selects pods labelled cdk8s.io/metadata.addr=test-Outside-');
  });

  it('when a resource name is taken, at once', () => {
    const chain = bareChain();
    expect(() => chain.addResource('image-builder')).toThrow('supply chain "web" already has a resource named "image-builder"');
  });
});

describe('the types', () => {
  // `npm run typecheck` fails if any of these compiles: placeholders are values the compiler checks.
  it('offer only the params and inputs a resource declares, and image inputs only from image resources', () => {
    const chain = bareChain();
    const settings = chain.addConfigResource('settings', { configPath: '.data' });
    const deployer = chain.addResource('deployer', { params: { log_level: 'info' }, images: { app: chain.imageBuilder } });
    // @ts-expect-error a param the resource does not declare
    void deployer.params.loglevel;
    // @ts-expect-error an image input the resource does not take
    void deployer.images.base;
    // @ts-expect-error no config inputs
    void deployer.configs.settings;
    // @ts-expect-error a config resource is no image input
    chain.addResource('wrong', { images: { app: settings } });
    expect([deployer.params.log_level, deployer.images.app]).toEqual(['$(params.log_level)$', '$(images.app.image)$']);
  });

  it('type a param as a number where its default is a number, and as a string otherwise', () => {
    const chain = new SupplyChain(Testing.app(), 'web', { name: 'web', deployer: false, params: { port: 8080, team: 'payments' } });
    const deployer = chain.addResource('deployer', { params: { replicas: 1, log_level: 'info' } });
    expectTypeOf(deployer.params.replicas).toEqualTypeOf<number>();
    expectTypeOf(deployer.params.log_level).toEqualTypeOf<string>();
    expectTypeOf(chain.params.port).toEqualTypeOf<number>();
    expectTypeOf(chain.params.team).toEqualTypeOf<string>();
    // @ts-expect-error a string param where a number is wanted
    new kplus.Deployment(deployer, 'Deployment', { replicas: deployer.params.log_level, containers: [{ image: 'nginx' }] });
    // @ts-expect-error a chain param the chain does not declare
    void chain.params.replicas;
    expect(typeof deployer.params.replicas).toBe('number');
  });
});
