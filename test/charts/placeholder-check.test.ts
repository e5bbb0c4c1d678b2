// Which `$(…)$` placeholders the synth-time check accepts for a resource, and what it says about the rest.
import { describe, expect, it } from 'vitest';
import { placeholdersIn, unprovidedPlaceholderErrors, type TemplatingContext } from '../../charts/placeholder-check.js';
import { configPlaceholder, imagePlaceholder, paramPlaceholder, workload } from '../../charts/placeholders.js';

const who = { kind: 'ClusterTemplate', template: 'web-deployment', resource: 'deployer', supplyChain: 'web' };
const oneImage: TemplatingContext = { params: ['log_level'], images: ['app'], configs: [] };
const unprovided = (tag: string, context: TemplatingContext = oneImage) => unprovidedPlaceholderErrors({ value: tag }, context, who);

describe('the placeholder values', () => {
  it.each([
    [workload.name, '$(workload.metadata.name)$'],
    [workload.namespace, '$(workload.metadata.namespace)$'],
    [workload.label('team'), '$(workload.metadata.labels.team)$'],
    [workload.label('app.kubernetes.io/part-of'), "$(workload.metadata.labels['app.kubernetes.io/part-of'])$"],
    [workload.annotation('example.com/owner'), "$(workload.metadata.annotations['example.com/owner'])$"],
    [workload.spec('serviceAccountName'), '$(workload.spec.serviceAccountName)$'],
    [paramPlaceholder('log_level'), '$(params.log_level)$'],
    [imagePlaceholder('app'), '$(images.app.image)$'],
    [configPlaceholder('settings'), '$(configs.settings.config)$'],
  ])('%s is Cartographer syntax', (value, expected) => {
    expect(value).toBe(expected);
  });
});

describe('placeholdersIn', () => {
  it('finds each placeholder once, in strings at any depth, and several in one string', () => {
    const object = { a: ['$(workload.metadata.name)$-$(params.x)$'], b: { c: '$(workload.metadata.name)$' }, d: 3, e: null };
    expect(placeholdersIn(object)).toEqual(['$(workload.metadata.name)$', '$(params.x)$']);
  });

  it("ignores Kubernetes' own $(VAR) expansion, which has no closing $", () => {
    expect(placeholdersIn({ command: ['sh', '-c', 'echo $(HOME)'] })).toEqual([]);
  });
});

describe('unprovidedPlaceholderErrors', () => {
  it.each([
    workload.name,
    workload.namespace,
    workload.label('app.kubernetes.io/part-of'),
    workload.spec('params'),
    '$(workload.spec.params[?(@.name=="port")].value)$',
    '$(workload.metadata)$',
    '$(workload.status.conditions[0].type)$',
    '$(workload.kind)$',
    '$({.workload.metadata.name})$',
    '$(.workload.metadata.name)$',
    paramPlaceholder('log_level'),
    imagePlaceholder('app'),
    '$(images.app.name)$',
    '$(image)$',
  ])('accepts %s', (tag) => {
    expect(unprovided(tag)).toEqual([]);
  });

  it.each([
    ['$(workload.metadata.nmae)$', 'workload.metadata.name'],
    ['$(workload.spec.serviceAcountName)$', 'workload.spec.serviceAccountName'],
    ['$(workload.metdata.name)$', 'workload.metadata.name'],
    ['$(params.log_levle)$', 'params.log_level'],
    ['$(images.ap.image)$', 'images.app.image'],
    ['$(images.app.imge)$', 'images.app.image'],
    ['$(imag)$', 'image'],
  ])('rejects the misspelt %s and suggests %s', (tag, meant) => {
    const [error, ...more] = unprovided(tag);
    expect(more).toEqual([]);
    expect(error).toContain(`ClusterTemplate "web-deployment" (resource "deployer" of supply chain "web") uses ${tag}, which no resource or param provides`);
    expect(error).toContain(`did you mean $(${meant})$?`);
    expect(error).toContain('available: params.log_level, images.app.image (or image), workload.metadata.{name, namespace, labels, annotations, …}');
  });

  it.each([
    ['a param the template does not declare', '$(params.port)$'],
    ['an image input the resource does not take', '$(images.base.image)$'],
    ['a config input the resource does not take', '$(configs.app.config)$'],
    ['the singular config without one config input', '$(config)$'],
    ['a source, which no resource outputs', '$(sources.app.url)$'],
    ["a Delivery's deployment", '$(deployment.url)$'],
    ['a path into an image, which is a string', '$(images.app.image.tag)$'],
  ])('rejects %s: %s', (_, tag) => {
    expect(unprovided(tag)).toHaveLength(1);
  });

  it('accepts image only with exactly one image input', () => {
    const twoImages = { params: [], images: ['app', 'sidecar'], configs: [] };
    expect(unprovided('$(image)$', twoImages)).toHaveLength(1);
    expect(unprovided('$(images.sidecar.image)$', twoImages)).toEqual([]);
    expect(unprovided('$(image)$', { params: [], images: [], configs: [] })).toHaveLength(1);
  });

  it('accepts keys inside a config output, which may be a map', () => {
    const oneConfig = { params: [], images: [], configs: ['settings'] };
    expect(unprovided("$(configs.settings.config['app.properties'])$", oneConfig)).toEqual([]);
    expect(unprovided('$(config.greeting)$', oneConfig)).toEqual([]);
  });

  it('names every unprovided placeholder of an object once', () => {
    const object = { a: '$(params.x)$', b: ['$(params.x)$ $(params.y)$', workload.name] };
    expect(unprovidedPlaceholderErrors(object, oneImage, who).map((error) => error.split(' uses ')[1].split(',')[0])).toEqual([
      '$(params.x)$',
      '$(params.y)$',
    ]);
  });
});
