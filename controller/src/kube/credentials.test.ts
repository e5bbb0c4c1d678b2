import type { V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ImageSpec } from '../api/image.js';
import { CredentialsError } from '../registry/index.js';
import { makeImage } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { ObjectReader } from './client.js';
import { cachedObjectReader, loadRegistryAccess } from './credentials.js';

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

describe('loadRegistryAccess', () => {
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

describe('cachedObjectReader', () => {
  it('reads a Secret once per period however many Images name it', async () => {
    const clock = new ManualClock();
    let reads = 0;
    const cached = cachedObjectReader({ ...reader, readSecret: async (ns, name) => (reads++, reader.readSecret(ns, name)) }, clock, 10_000);
    await Promise.all(Array.from({ length: 100 }, () => cached.readSecret('default', 'regcred')));
    await clock.advance(9_000);
    await cached.readSecret('default', 'regcred');
    expect(reads).toBe(1);
    await clock.advance(2_000);
    await cached.readSecret('default', 'regcred');
    expect(reads).toBe(2);
  });
});
