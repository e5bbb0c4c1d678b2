// The ImageController chart's typed props: each renders into the controller's arguments and the objects
// that must agree with them (port, probes, Service, RBAC), and a combination the controller would refuse
// or that would be unsafe is refused at synth with the prop named.
import { Duration, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { IMAGE_CONTROLLER_DEFAULTS, ImageController, type ImageControllerProps } from '../../charts/image-controller.js';
import { parseFlags } from '../../controller/src/cli/flags.js';
import { RUN_FLAGS } from '../../controller/src/cli/run-flags.js';
import { CONTROLLER_RBAC } from '../../controller/src/kube/api.js';
import type { Manifest } from './manifests.js';

function synth(props: ImageControllerProps = {}): { chart: ImageController; objects: Manifest[] } {
  const chart = new ImageController(Testing.app(), 'image-controller', props);
  return { chart, objects: Testing.synth(chart) as Manifest[] };
}

const find = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
const container = (objects: Manifest[]) => find(objects, 'Deployment')[0]!.spec.template.spec.containers[0];

describe('ImageController props', () => {
  it('renders only the leader election flag by default, leaving the other defaults to the controller', () => {
    const { chart, objects } = synth();
    expect(container(objects).args).toEqual(['run', '--leader-elect']);
    expect(chart.args).toEqual(container(objects).args);
  });

  it('renders each typed prop into the flag the controller parses back as the same value', () => {
    const { objects } = synth({
      interval: Duration.minutes(1),
      concurrency: 4,
      requestTimeout: Duration.seconds(5),
      logLevel: 'debug',
      watchNamespace: 'apps',
      registryAliases: { 'localhost:5000': 'kind-registry:5000' },
      allowedRegistries: ['localhost:5000', '*.example.com'],
    });
    const [command, ...argv] = container(objects).args;
    expect(command).toBe('run');
    expect(parseFlags(RUN_FLAGS, argv, {}).values).toMatchObject({
      interval: 60_000,
      concurrency: 4,
      requestTimeout: 5_000,
      logLevel: 'debug',
      namespace: 'apps',
      leaderElect: true,
      registryAlias: ['localhost:5000=kind-registry:5000'],
      allowedRegistries: ['localhost:5000', '*.example.com'],
    });
  });

  it('puts one port in the flag, the container, the probes and the Service', () => {
    const { objects } = synth({ port: 9090 });
    const c = container(objects);
    expect(c.args).toContain(':9090');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet.port).toBe('http');
    expect(c.readinessProbe.httpGet.port).toBe('http');
    expect(find(objects, 'Service')[0]!.spec.ports).toEqual([{ name: 'http', port: 9090, targetPort: 'http', protocol: 'TCP' }]);
  });

  it.each<[string, ImageControllerProps, RegExp]>([
    ['several replicas without leader election', { replicas: 2, leaderElect: false }, /replicas 2 needs leaderElect: true/],
    ['a fractional replica count', { replicas: 1.5 }, /replicas must be a whole number/],
    ['an interval under 1 s', { interval: Duration.millis(500) }, /--interval: must be at least 1s \(rendered from its props\)/],
    ['no concurrency', { concurrency: 0 }, /--concurrency must be a whole number of at least 1/],
    ['an unknown log level', { logLevel: 'loud' as never }, /--log-level: must be debug, info, warn or error/],
    ['a port out of range', { port: 70_000 }, /port must be 1…65535/],
  ])('refuses %s at synth', (_, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it('grants in the watched namespace only, with a Role, when it watches one', () => {
    const { objects } = synth({ watchNamespace: 'apps' });
    expect(find(objects, 'ClusterRole')).toEqual([]);
    const role = find(objects, 'Role').find((r) => r.metadata.namespace === 'apps')!;
    expect(role.rules).toEqual(CONTROLLER_RBAC.watchedNamespaces);
    const binding = find(objects, 'RoleBinding').find((b) => b.metadata.namespace === 'apps')!;
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: IMAGE_CONTROLLER_DEFAULTS.name, namespace: IMAGE_CONTROLLER_DEFAULTS.namespace }]);
  });

  it('grants no Lease without leader election', () => {
    const { objects } = synth({ leaderElect: false });
    expect(container(objects).args).toEqual(['run']);
    expect(objects.flatMap((o) => o.rules ?? []).filter((rule: { resources: string[] }) => rule.resources.includes('leases'))).toEqual([]);
  });

  it('exposes its ServiceAccount and Deployment, to be extended as cdk8s-plus constructs are', () => {
    const { chart } = synth();
    chart.deployment.metadata.addAnnotation('example.com/owner', 'platform');
    chart.serviceAccount.metadata.addLabel('example.com/team', 'platform');
    const objects = Testing.synth(chart) as Manifest[];
    expect(find(objects, 'Deployment')[0]!.metadata.annotations).toEqual({ 'example.com/owner': 'platform' });
    expect(find(objects, 'ServiceAccount')[0]!.metadata.labels).toMatchObject({ 'example.com/team': 'platform' });
  });
});
