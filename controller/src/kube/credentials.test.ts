import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Image, ImageSpec } from '../api/image.js';
import { CredentialsError } from '../registry/index.js';
import { makeImage } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { ObjectReader } from './api.js';
import { RegistryAccessCache } from './credentials.js';

const loadRegistryAccess = (reader: ObjectReader, image: Image, registry: string) =>
  new RegistryAccessCache({ reader, clock: new ManualClock(), ttlMs: 10_000 }).load(image, registry);

const b64 = (text: string) => Buffer.from(text).toString('base64');
const dockerConfig = (host: string, user = 'robot', password = 'hunter2') =>
  b64(JSON.stringify({ auths: { [host]: { auth: b64(`${user}:${password}`) } } }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const secrets: Record<string, V1Secret> = {
  regcred: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('localhost:5000') } },
  ghcr: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('ghcr.io', 'other') } },
  opaque: { type: 'Opaque', data: { password: b64('x') } },
  broken: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{not json') } },
  ca: { type: 'Opaque', data: { 'ca.crt': b64(PEM) } },
  'ca-der': { type: 'Opaque', data: { 'ca.crt': b64('\u0030\u0082binary') } },
};
const accounts: Record<string, V1ServiceAccount> = { builder: { imagePullSecrets: [{ name: 'ghcr' }, { name: 'regcred' }] } };

const reader: ObjectReader = {
  readSecret: async (_ns, name) => (name === 'forbidden' ? Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })) : secrets[name]),
  readServiceAccount: async (_ns, name) => accounts[name],
  readConfigMap: async () => undefined,
};

describe('RegistryAccessCache.load', () => {
  it.each<{ name: string; spec: Partial<ImageSpec>; expected: object }>([
    { name: 'no secrets: anonymous', spec: {}, expected: {} },
    {
      name: 'the pull secret with an entry for the host',
      spec: { pullSecrets: [{ name: 'ghcr' }, { name: 'regcred' }] },
      expected: { credentials: { username: 'robot', password: 'hunter2' }, credentialSource: 'Secret "regcred" (spec.pullSecrets)' },
    },
    {
      name: "the ServiceAccount's imagePullSecrets",
      spec: { serviceAccountName: 'builder' },
      expected: { credentials: { username: 'robot' }, credentialSource: 'Secret "regcred" (imagePullSecrets of ServiceAccount "builder")' },
    },
    {
      name: 'secrets without an entry for the host: anonymous, and the message will say so',
      spec: { pullSecrets: [{ name: 'ghcr' }] },
      expected: { credentialSource: 'Secret "ghcr"' },
    },
    { name: 'a CA', spec: { caSecretRef: { name: 'ca' } }, expected: { caPem: PEM } },
  ])('$name', async ({ spec, expected }) => {
    expect(await loadRegistryAccess(reader, makeImage('demo', spec), 'localhost:5000')).toMatchObject(expected);
  });

  it.each<{ name: string; spec: Partial<ImageSpec>; message: RegExp }>([
    { name: 'a missing pull secret', spec: { pullSecrets: [{ name: 'nope' }] }, message: /Secret "nope" \(spec.pullSecrets\) does not exist in namespace "default"; create it/ },
    { name: 'a pull secret of the wrong type', spec: { pullSecrets: [{ name: 'opaque' }] }, message: /has type Opaque; a pull secret must be kubernetes.io\/dockerconfigjson: recreate it with kubectl create secret docker-registry/ },
    { name: 'a pull secret that is not JSON', spec: { pullSecrets: [{ name: 'broken' }] }, message: /Secret "broken".*is not valid JSON.*recreate it/ },
    { name: 'a missing ServiceAccount', spec: { serviceAccountName: 'ghost' }, message: /ServiceAccount "ghost" \(spec.serviceAccountName\) does not exist/ },
    { name: 'a Secret the controller may not read', spec: { pullSecrets: [{ name: 'forbidden' }] }, message: /may not read Secret "forbidden".*403/ },
    { name: 'a CA Secret without ca.crt', spec: { caSecretRef: { name: 'opaque' } }, message: /Secret "opaque" \(spec.caSecretRef\) has no ca.crt key/ },
    { name: 'a CA that is not PEM', spec: { caSecretRef: { name: 'ca-der' } }, message: /ca.crt is not a PEM certificate/ },
  ])('$name is CredentialsUnavailable with a message that says what to fix', async ({ spec, message }) => {
    const failure = await loadRegistryAccess(reader, makeImage('demo', spec), 'localhost:5000').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CredentialsError);
    expect(failure).toMatchObject({ reason: 'CredentialsUnavailable', message: expect.stringMatching(message) });
  });
});

describe('RegistryAccessCache', () => {
  const counting = () => {
    const reads = { secrets: 0, accounts: 0 };
    const counted: ObjectReader = {
      ...reader,
      readSecret: async (ns, name) => (reads.secrets++, reader.readSecret(ns, name)),
      readServiceAccount: async (ns, name) => (reads.accounts++, reader.readServiceAccount(ns, name)),
    };
    return { reads, counted };
  };

  it('reads a Secret once per period however many Images name it, failures too', async () => {
    const clock = new ManualClock();
    const { reads, counted } = counting();
    const cache = new RegistryAccessCache({ reader: counted, clock, ttlMs: 10_000 });
    const image = makeImage('demo', { pullSecrets: [{ name: 'regcred' }], serviceAccountName: 'builder' });
    await Promise.all(Array.from({ length: 100 }, () => cache.load(image, 'localhost:5000')));
    await clock.advance(9_000);
    await cache.load(image, 'localhost:5000');
    expect(reads).toEqual({ secrets: 1, accounts: 1 });
    await clock.advance(2_000);
    await cache.load(image, 'localhost:5000');
    expect(reads).toEqual({ secrets: 2, accounts: 2 });

    const broken = makeImage('broken', { pullSecrets: [{ name: 'broken' }] });
    for (let i = 0; i < 3; i++) await expect(cache.load(broken, 'localhost:5000')).rejects.toBeInstanceOf(CredentialsError);
    expect(reads.secrets).toBe(3);
  });

  it('keeps only the parsed credentials, within its byte budget', async () => {
    const huge = 'p'.repeat(512 * 1024);
    const big: ObjectReader = {
      ...reader,
      readSecret: async (_ns, name) => ({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfig('localhost:5000', name, huge) } }),
    };
    const cache = new RegistryAccessCache({ reader: big, clock: new ManualClock(), ttlMs: 60_000, maxBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 20; i++) {
      const access = await cache.load(makeImage(`i${i}`, { pullSecrets: [{ name: `s${i}` }] }), 'localhost:5000');
      expect(access.credentials).toEqual({ username: `s${i}`, password: huge });
    }
    // Twenty half-MiB passwords, a 2 MiB budget: the oldest went.
    expect(cache.size).toBeLessThanOrEqual(4);
  });

  it('refuses a CA Secret larger than a CA bundle', async () => {
    const pem = `${PEM}${'x'.repeat(70 * 1024)}`;
    const cache = new RegistryAccessCache({ reader: { ...reader, readSecret: async () => ({ type: 'Opaque', data: { 'ca.crt': b64(pem) } }) }, clock: new ManualClock(), ttlMs: 1 });
    await expect(cache.load(makeImage('demo', { caSecretRef: { name: 'big' } }), 'localhost:5000')).rejects.toMatchObject({ message: expect.stringContaining('larger than 64 KiB') });
  });
});
