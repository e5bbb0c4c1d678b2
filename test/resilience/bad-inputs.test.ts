// Bad inputs: each is either refused by the CRD schema at `kubectl apply` with the rule's message, or
// accepted by the API server and reported by the controller as Ready=False with a specific reason and a
// message a person can act on. Meanwhile the controller never restarts and a healthy Image keeps
// following its tag. Every reference points at loopback, so nothing here can reach another host.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSpec } from '../../controller/src/api/image.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { SupplyChainSystem } from '../support/supply-chain-system.js';
import { createImage, dockerConfigSecret, pushTo, readyOf, rejection, waitForReady } from './helpers.js';
import { controllerPid } from './process-stats.js';

const INTERVAL_MS = 2_000;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

const system = new SupplyChainSystem({ cartographer: false, registryPort: 0, controllerArgs: ['--interval', '2s'] });
let authRegistry: Registry;
let registry = '';
let pid = 0;
let healthyRef = '';

beforeAll(async () => {
  await system.start();
  registry = system.registry!.host;
  authRegistry = await startRegistry({ htpasswd: { username: 'bad-input-user', password: randomBytes(12).toString('hex') } });
  await pushTo(authRegistry.host, 'apps/private', { creds: authRegistry.creds });
  await system.push('apps/exists');
  // The healthy Image, created before any bad input.
  healthyRef = `${registry}/apps/healthy`;
  const digest = await system.push('apps/healthy');
  await createImage(system, 'healthy', { image: healthyRef, interval: '2s' });
  await system.waitForLatestImage('healthy', `${healthyRef}@${digest}`);
  pid = await controllerPid(system.controller!);
}, 300_000);
afterAll(async () => {
  await authRegistry?.stop();
  await system.stop();
}, 60_000);

const image = (name: string, spec: unknown) => ({ apiVersion: 'example.com/v1', kind: 'Image', metadata: { name, namespace: 'default' }, spec });

/** Refused at `kubectl apply` by the CRD schema; `words` is the rule's message (or the schema keyword's). */
const refusedBySchema: [string, () => unknown, RegExp][] = [
  ['an empty reference', () => ({ image: '' }), /spec\.image in body should be at least 1 chars long/],
  ['a digest reference', () => ({ image: `${registry}/apps/demo@${DIGEST}` }), /spec\.image must be a tag reference: a digest \(@sha256:…\) never moves/],
  ['a digest-only reference', () => ({ image: DIGEST }), /spec\.image must be a tag reference: a digest \(@sha256:…\) never moves/],
  ['a bare 64-hex image ID', () => ({ image: 'ab'.repeat(32) }), /spec\.image must be a tag reference: a digest \(@sha256:…\) never moves/],
  ['a reference over 4 KB', () => ({ image: `${registry}/${'a'.repeat(4200)}` }), /spec\.image: Too long: may not be (more|longer) than 512/],
  ['a reference with a scheme', () => ({ image: `https://${registry}/apps/demo` }), /spec\.image must not start with a scheme such as https:\/\/; write host\[:port\]\/path\[:tag\]/],
  ['a reference with spaces', () => ({ image: `${registry}/apps/my demo` }), /spec\.image must not contain spaces/],
  ['a reference with a tab', () => ({ image: `${registry}/apps/demo\t` }), /spec\.image must not contain spaces/],
  ['a negative interval', () => ({ image: `${registry}/apps/exists`, interval: '-5s' }), /spec\.interval in body should match/],
  ['a zero interval', () => ({ image: `${registry}/apps/exists`, interval: '0s' }), /spec\.interval must be between 1s and 24h/],
  ['a garbage interval', () => ({ image: `${registry}/apps/exists`, interval: 'soon' }), /spec\.interval in body should match/],
  ['an enormous interval', () => ({ image: `${registry}/apps/exists`, interval: '100000h' }), /spec\.interval must be between 1s and 24h/],
  ['a numeric interval', () => ({ image: `${registry}/apps/exists`, interval: 10 }), /spec\.interval in body must be of type string/],
  ['a pull secret entry without a name', () => ({ image: `${registry}/apps/exists`, pullSecrets: [{}] }), /spec\.pullSecrets\[0\]\.name: Required value/],
  ['suspend that is not a boolean', () => ({ image: `${registry}/apps/exists`, suspend: 'yes' }), /spec\.suspend in body must be of type boolean/],
  ['a tag in spec.image beside a policy', () => ({ image: `${registry}/apps/exists:1.0.0`, policy: { semver: { range: '>=1' } } }), /spec\.image must name a repository without a tag when spec\.policy chooses the tag/],
  ['a policy with two orders', () => ({ image: `${registry}/apps/exists`, policy: { semver: { range: '>=1' }, numerical: {} } }), /spec\.policy must choose exactly one of semver, alphabetical or numerical/],
  ['a policy with no order', () => ({ image: `${registry}/apps/exists`, policy: {} }), /spec\.policy must choose exactly one of semver, alphabetical or numerical/],
  ['an order that is neither asc nor desc', () => ({ image: `${registry}/apps/exists`, policy: { alphabetical: { order: 'newest' } } }), /spec\.policy\.alphabetical\.order: Unsupported value: "newest"/],
  ['extract without a pattern', () => ({ image: `${registry}/apps/exists`, policy: { numerical: {} }, filterTags: { extract: '$1' } }), /spec\.filterTags\.extract needs spec\.filterTags\.pattern/],
  ['filters without a policy', () => ({ image: `${registry}/apps/exists`, filterTags: { pattern: 'x' } }), /spec\.filterTags, spec\.exclusionList and spec\.maxTags apply only with spec\.policy/],
];

interface Reported {
  spec: () => ImageSpec;
  reason: string;
  words: RegExp;
  /** Objects the case needs first. */
  objects?: () => object[];
}

/** Accepted by the API server, reported by the controller on the Ready condition. */
const reportedByController: [string, Reported][] = [
  ['an uppercase repository', { spec: () => ({ image: `${registry}/Apps/Demo` }), reason: 'InvalidSpec', words: /repository paths must be lowercase; write "apps\/demo"/ }],
  ['a unicode reference', { spec: () => ({ image: `${registry}/äpps/demo` }), reason: 'InvalidSpec', words: /contains "ä"; image references are plain ASCII/ }],
  ['an empty tag', { spec: () => ({ image: `${registry}/apps/demo:` }), reason: 'InvalidSpec', words: /"" is not a valid tag: 1 to 128 letters/ }],
  ['a 129-character tag', { spec: () => ({ image: `${registry}/apps/demo:${'t'.repeat(129)}` }), reason: 'InvalidSpec', words: /is not a valid tag: 1 to 128 letters/ }],
  ['an empty path component', { spec: () => ({ image: `${registry}/apps//demo` }), reason: 'InvalidSpec', words: /"" is not a valid path component/ }],
  ['a port out of range', { spec: () => ({ image: '127.0.0.1:99999/apps/demo' }), reason: 'InvalidSpec', words: /port 99999 is out of range \(1-65535\)/ }],
  ['a semver range npm semver cannot read', { spec: () => ({ image: `${registry}/apps/exists`, policy: { semver: { range: '>=1 <<2' } } }), reason: 'InvalidSpec', words: /spec\.policy\.semver\.range ">=1 <<2" is not a semver range/ }],
  ['a pattern RE2 cannot run (a lookahead)', { spec: () => ({ image: `${registry}/apps/exists`, policy: { alphabetical: {} }, filterTags: { pattern: '^v(?=1)' } }), reason: 'InvalidSpec', words: /spec\.filterTags\.pattern "\^v\(\?=1\)" is not a pattern the controller can run/ }],
  ['a policy no tag fits', { spec: () => ({ image: `${registry}/apps/exists`, policy: { semver: { range: '>=1' } } }), reason: 'NoMatchingTag', words: /no tag of .*apps\/exists fits semver range >=1 \(1 tags listed: 1 outside semver range >=1\)/ }],
  ['a tag that does not exist', { spec: () => ({ image: `${registry}/apps/exists:nope` }), reason: 'NotFound', words: /has no tag nope in repository apps\/exists \(its tags: latest\)/ }],
  ['a repository that does not exist', { spec: () => ({ image: `${registry}/apps/missing` }), reason: 'NotFound', words: /has no repository apps\/missing/ }],
  [
    'a missing pull secret',
    { spec: () => ({ image: `${registry}/apps/exists`, pullSecrets: [{ name: 'no-such-secret' }] }), reason: 'CredentialsUnavailable', words: /Secret "no-such-secret" \(spec\.pullSecrets\) does not exist in namespace "default"; create it/ },
  ],
  [
    'a pull secret of the wrong type',
    {
      spec: () => ({ image: `${registry}/apps/exists`, pullSecrets: [{ name: 'opaque-secret' }] }),
      objects: () => [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque-secret', namespace: 'default' }, type: 'Opaque', stringData: { '.dockerconfigjson': '{"auths":{}}' } }],
      reason: 'CredentialsUnavailable',
      words: /Secret "opaque-secret" \(spec\.pullSecrets\) has type Opaque; a pull secret must be kubernetes\.io\/dockerconfigjson: recreate it with kubectl create secret docker-registry/,
    },
  ],
  [
    'a pull secret whose auths is not an object',
    {
      spec: () => ({ image: `${registry}/apps/exists`, pullSecrets: [{ name: 'mangled-secret' }] }),
      objects: () => [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mangled-secret', namespace: 'default' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":"nope"}' } }],
      reason: 'CredentialsUnavailable',
      words: /has an "auths" that is not an object; recreate it with kubectl create secret docker-registry mangled-secret/,
    },
  ],
  [
    'a pull secret without this host',
    {
      spec: () => ({ image: `${authRegistry.host}/apps/private`, pullSecrets: [{ name: 'other-host-secret' }] }),
      objects: () => [dockerConfigSecret('other-host-secret', 'registry.example.com', 'someone', 'something')],
      reason: 'Unauthorized',
      words: /requires credentials for apps\/private:latest and Secret "other-host-secret" has no entry for 127\.0\.0\.1:\d+$/,
    },
  ],
  [
    'a pull secret with the wrong password',
    {
      spec: () => ({ image: `${authRegistry.host}/apps/private`, pullSecrets: [{ name: 'wrong-password' }] }),
      objects: () => [dockerConfigSecret('wrong-password', authRegistry.host, 'bad-input-user', 'not-the-password')],
      reason: 'Unauthorized',
      words: /refused the credentials from Secret "wrong-password" \(spec\.pullSecrets\)/,
    },
  ],
  [
    'no pull secret for a registry that needs one',
    { spec: () => ({ image: `${authRegistry.host}/apps/private` }), reason: 'Unauthorized', words: /requires credentials for apps\/private:latest and none were given/ },
  ],
  [
    'a CA that is not PEM',
    {
      spec: () => ({ image: `${registry}/apps/exists`, caSecretRef: { name: 'not-pem' } }),
      objects: () => [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'not-pem', namespace: 'default' }, stringData: { 'ca.crt': 'this is not a certificate' } }],
      reason: 'CredentialsUnavailable',
      words: /Secret "not-pem" \(spec\.caSecretRef\) key ca\.crt is not a PEM certificate; it must contain -----BEGIN CERTIFICATE-----/,
    },
  ],
  [
    'a CA Secret without ca.crt',
    {
      spec: () => ({ image: `${registry}/apps/exists`, caSecretRef: { name: 'no-ca-key' } }),
      objects: () => [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'no-ca-key', namespace: 'default' }, stringData: { 'tls.crt': 'x' } }],
      reason: 'CredentialsUnavailable',
      words: /Secret "no-ca-key" \(spec\.caSecretRef\) has no ca\.crt key; put the registry's CA certificate there/,
    },
  ],
  [
    'a missing CA Secret',
    { spec: () => ({ image: `${registry}/apps/exists`, caSecretRef: { name: 'no-such-ca' } }), reason: 'CredentialsUnavailable', words: /Secret "no-such-ca" \(spec\.caSecretRef\) does not exist in namespace "default"/ },
  ],
  [
    'a missing ServiceAccount',
    { spec: () => ({ image: `${registry}/apps/exists`, serviceAccountName: 'ghost' }), reason: 'CredentialsUnavailable', words: /ServiceAccount "ghost" \(spec\.serviceAccountName\) does not exist in namespace "default"; create it or remove spec\.serviceAccountName/ },
  ],
  [
    "a ServiceAccount whose imagePullSecrets name a missing Secret",
    {
      spec: () => ({ image: `${registry}/apps/exists`, serviceAccountName: 'puller' }),
      objects: () => [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'puller', namespace: 'default' }, imagePullSecrets: [{ name: 'gone' }] }],
      reason: 'CredentialsUnavailable',
      words: /Secret "gone" \(imagePullSecrets of ServiceAccount "puller"\) does not exist/,
    },
  ],
];

describe('bad inputs', () => {
  it.each(refusedBySchema.map(([title, spec, words], i) => [title, spec, words, i] as const))(
    'bad input: %s is refused by the CRD schema',
    async (_title, spec, words, i) => {
      const name = `refused-${i}`;
      const message = await rejection(system.apply(image(name, spec())));
      expect(message).toMatch(words);
      expect(await system.image(name)).toBeUndefined();
    },
  );

  it('bad input: a missing spec is refused by the CRD schema', async () => {
    const message = await rejection(system.apply({ apiVersion: 'example.com/v1', kind: 'Image', metadata: { name: 'no-spec', namespace: 'default' } }));
    expect(message).toMatch(/spec: Required value/);
  });

  it('bad input: an unknown field is refused by strict field validation', async () => {
    const manifest = JSON.stringify(image('unknown-field', { image: `${registry}/apps/exists`, intervall: '5s' }));
    const message = await rejection(system.kubectl(['apply', '--validate=strict', '-f', '-'], { input: manifest }));
    expect(message).toMatch(/unknown field "spec\.intervall"/);
    expect(await system.image('unknown-field')).toBeUndefined();
  });

  it.each(reportedByController.map(([title, reported], i) => [title, reported, i] as const))(
    'bad input: %s gets Ready=False with a reason and an actionable message',
    async (_title, reported, i) => {
      const name = `reported-${i}`;
      for (const object of reported.objects?.() ?? []) await system.apply(object);
      await createImage(system, name, { ...reported.spec(), interval: '2s' });
      const failed = await waitForReady(system, name, { status: 'False', reason: reported.reason });
      expect(readyOf(failed)?.message).toMatch(reported.words);
      expect(failed.status?.latestImage).toBeUndefined();
    },
  );

  it('bad input: none of it restarted the controller, and the healthy Image still follows its tag', async () => {
    expect(system.controller!.process.hasExited).toBe(false);
    expect(await controllerPid(system.controller!)).toBe(pid);
    const digest = await system.push('apps/healthy');
    await system.waitForLatestImage('healthy', `${healthyRef}@${digest}`, { timeoutMs: 2 * INTERVAL_MS + 1_000 });
    expect(readyOf(await system.image('healthy'))).toMatchObject({ status: 'True', reason: 'DigestResolved' });
    expect(await controllerPid(system.controller!)).toBe(pid);
  });
});
