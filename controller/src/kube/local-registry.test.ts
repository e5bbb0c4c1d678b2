import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { ObjectReader } from './api.js';
import { parseLocalRegistryHosting, parseRegistryAlias, RegistryEndpoints } from './local-registry.js';

const log = createLogger({ write: () => undefined });
const KIND = 'host: "localhost:5000"\nhostFromClusterNetwork: "kind-registry:5000"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n';

describe('parseLocalRegistryHosting', () => {
  it.each([
    [KIND, { host: 'localhost:5000', hostFromClusterNetwork: 'kind-registry:5000', help: 'https://kind.sigs.k8s.io/docs/user/local-registry/' }],
    ['host: localhost:5001\nhostFromContainerRuntime: kind-registry:5000\n', { host: 'localhost:5001', hostFromContainerRuntime: 'kind-registry:5000' }],
    ['- not a mapping', undefined],
    ['host: [unclosed', undefined],
  ])('%j', (text, expected) => expect(parseLocalRegistryHosting(text)).toEqual(expected));
});

describe('parseRegistryAlias', () => {
  it('splits from=to', () => expect(parseRegistryAlias('LOCALHOST:5000=kind-registry:5000')).toEqual(['localhost:5000', 'kind-registry:5000']));
  it.each(['localhost:5000', 'a=b=c', '=b', 'http://a=b'])('refuses %s', (text) => expect(() => parseRegistryAlias(text)).toThrow(/from=to/));
});

describe('RegistryEndpoints', () => {
  const reader = (data?: Record<string, string>): ObjectReader & { reads: number } => {
    const r = {
      reads: 0,
      readSecret: async () => undefined,
      readServiceAccount: async () => undefined,
      readConfigMap: async () => (r.reads++, data && { data }),
    };
    return r;
  };

  it('in a pod, sends localhost:5000 to the host the ConfigMap names for the cluster network', async () => {
    const endpoints = new RegistryEndpoints({ aliases: new Map(), reader: reader({ 'localRegistryHosting.v1': KIND }), inCluster: true, clock: new ManualClock(), log });
    expect(await endpoints.endpointFor('localhost:5000')).toBe('kind-registry:5000');
    expect(await endpoints.endpointFor('ghcr.io')).toBeUndefined();
  });

  it('outside the cluster, contacts the registry as named', async () => {
    const r = reader({ 'localRegistryHosting.v1': KIND });
    const endpoints = new RegistryEndpoints({ aliases: new Map(), reader: r, inCluster: false, clock: new ManualClock(), log });
    expect(await endpoints.endpointFor('localhost:5000')).toBeUndefined();
    expect(r.reads).toBe(0);
  });

  it('a --registry-alias wins over the ConfigMap', async () => {
    const endpoints = new RegistryEndpoints({
      aliases: new Map([['localhost:5000', 'registry.local:5000']]),
      reader: reader({ 'localRegistryHosting.v1': KIND }),
      inCluster: true,
      clock: new ManualClock(),
      log,
    });
    expect(await endpoints.endpointFor('localhost:5000')).toBe('registry.local:5000');
  });

  it('reads the ConfigMap once per refresh period', async () => {
    const clock = new ManualClock();
    const r = reader();
    const endpoints = new RegistryEndpoints({ aliases: new Map(), reader: r, inCluster: true, clock, log, refreshMs: 60_000 });
    await endpoints.endpointFor('localhost:5000');
    await endpoints.endpointFor('localhost:5000');
    expect(r.reads).toBe(1);
    await clock.advance(60_001);
    await endpoints.endpointFor('localhost:5000');
    expect(r.reads).toBe(2);
  });
});
