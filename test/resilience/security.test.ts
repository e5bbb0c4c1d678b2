// Security properties, proven against the real API server, registry and controller: least-privilege RBAC,
// the restricted Pod Security Standard really enforced, registries outside --allowed-registries and
// link-local / metadata addresses refused before any connection, the notification endpoint's token and
// size limit, and a planted registry password that never shows up anywhere the controller writes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { repoRoot, SupplyChainSystem } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { createImage, dockerConfigSecret, pushTo, readyOf, rejection, waitForReady } from './helpers.js';

const LEAK_USER = `leak-user-${randomBytes(4).toString('hex')}`;
const LEAK_PASSWORD = `leak-password-${randomBytes(16).toString('hex')}`;
const WRONG_PASSWORD = `leak-wrong-${randomBytes(16).toString('hex')}`;

const system = new SupplyChainSystem({ cartographer: false, registryPort: 0, notifications: true, startController: false });
let authRegistry: Registry;
/** A second registry the controller is not allowed to contact; the proxy logs anything that reaches it. */
let forbiddenRegistry: Registry;
let forbidden: FaultProxy;

const CONTROLLER_FILE = join(repoRoot, 'dist/0001-image-controller.k8s.yaml');
const controllerObjects = () => parseAllDocuments(readFileSync(CONTROLLER_FILE, 'utf8')).map((d) => d.toJS());

beforeAll(async () => {
  await system.start();
  authRegistry = await startRegistry({ htpasswd: { username: LEAK_USER, password: LEAK_PASSWORD } });
  forbiddenRegistry = await startRegistry();
  forbidden = await startFaultProxy(forbiddenRegistry.host);
  await system.startController({
    args: [
      '--interval', '2s',
      // Link-local and metadata hosts are listed too: the controller must refuse them whatever the flag says.
      '--allowed-registries', [system.registry!.host, authRegistry.host, '169.254.169.254', '[fe80::1]:5000', 'metadata.google.internal'].join(','),
    ],
  });
}, 300_000);
afterAll(async () => {
  await forbidden?.stop();
  await forbiddenRegistry?.stop();
  await authRegistry?.stop();
  await system.stop();
}, 60_000);

async function canI(verb: string, resource: string, namespace = 'default', subresource?: string): Promise<boolean> {
  const as = `system:serviceaccount:${system.identity.namespace}:${system.identity.serviceAccount}`;
  const args = ['auth', 'can-i', verb, resource, '-n', namespace, `--as=${as}`, ...(subresource ? [`--subresource=${subresource}`] : [])];
  try {
    return (await system.kubectl(args)).trim() === 'yes';
  } catch (error) {
    // `kubectl auth can-i` answers "no" with exit status 1.
    if (error instanceof Error && / exited 1: ?$/.test(error.message)) return false;
    throw error;
  }
}

/** Sum of a metric's samples whose labels contain `labelText`. */
async function metricSum(name: string, labelText = ''): Promise<number> {
  return (await system.metrics())
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labelText))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('security', () => {
  it('the ClusterRole has no wildcards and a comment justifying each rule', () => {
    const roles = controllerObjects().filter((o) => o?.kind === 'ClusterRole' || o?.kind === 'Role');
    expect(roles.length).toBeGreaterThanOrEqual(3);
    for (const role of roles) {
      for (const rule of role.rules) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
          expect(rule[field] ?? [], `${role.metadata.name} ${field}`).not.toContain('*');
        }
      }
    }
    // Beside the calls that need it (controller/src/kube/api.ts), every rule object sits right under a
    // `//` comment line saying why it is needed.
    const file = 'controller/src/kube/api.ts';
    const source = readFileSync(join(repoRoot, file), 'utf8').split('\n');
    const ruleLines = source.flatMap((line, i) => (/^\s*(rules: \[)?\{ apiGroups: /.test(line) ? [i] : []));
    expect(ruleLines.length).toBe(roles.reduce((n, role) => n + role.rules.length, 0));
    for (const i of ruleLines) {
      const justified = /^\s*\/\/ \S/.test(source[i - 1]!) || /\/\/ \S/.test(source[i]!);
      expect(justified, `${file}:${i + 1} has no comment: ${source[i]!.trim()}`).toBe(true);
    }
  });

  it("the API server grants the controller's ServiceAccount exactly what it uses", async () => {
    const granted: [string, string, string?, string?][] = [
      ['list', 'images.example.com'], ['watch', 'images.example.com'],
      ['patch', 'images.example.com', 'default', 'status'], ['create', 'events'], ['patch', 'events'],
      ['get', 'secrets'], ['get', 'serviceaccounts'],
      ['get', 'leases/image-controller', system.identity.namespace], ['update', 'leases/image-controller', system.identity.namespace],
      ['get', 'configmaps/local-registry-hosting', 'kube-public'],
    ];
    const denied: [string, string, string?, string?][] = [
      ['list', 'secrets'], ['watch', 'secrets'], ['update', 'secrets'], ['get', 'configmaps'],
      ['get', 'images.example.com'], ['update', 'images.example.com'], ['patch', 'images.example.com'], ['delete', 'images.example.com'], ['create', 'images.example.com'],
      ['update', 'images.example.com', 'default', 'status'], ['create', 'pods'], ['delete', 'events'], ['create', 'serviceaccounts', 'default', 'token'],
      ['update', 'leases/someone-else', system.identity.namespace], ['get', 'leases', 'default'],
      ['*', '*'],
    ];
    for (const [verb, resource, namespace, sub] of granted) expect(await canI(verb, resource, namespace, sub), `${verb} ${resource} ${sub ?? ''}`).toBe(true);
    for (const [verb, resource, namespace, sub] of denied) expect(await canI(verb, resource, namespace, sub), `${verb} ${resource} ${sub ?? ''}`).toBe(false);
  });

  it("the controller's Pod is admitted under the restricted Pod Security Standard, which is really enforced", async () => {
    const namespace = system.identity.namespace;
    const labels = JSON.parse(await system.kubectl(['get', 'namespace', namespace, '-o', 'jsonpath={.metadata.labels}']));
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // No kubelet runs here: the ReplicaSet controller creating the Pod (it stays Pending) is the admission proof.
    const pods = await waitFor('the controller Deployment creates its Pod', async () => {
      const names = await system.kubectl(['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/name=image-controller', '-o', 'name']);
      return names.trim() || undefined;
    }, { timeoutMs: 60_000 });
    expect(pods).toMatch(/^pod\/image-controller-/);
    const failures = await system.kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=FailedCreate', '-o', 'name']);
    expect(failures.trim()).toBe('');

    const noncompliant = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged', namespace },
      spec: { containers: [{ name: 'c', image: 'localhost:5000/apps/demo', securityContext: { privileged: true } }] },
    };
    const message = await rejection(system.apply(noncompliant));
    expect(message).toMatch(/violates PodSecurity "restricted:latest": privileged/);
  });

  it('a registry outside --allowed-registries is refused before any connection', async () => {
    await pushTo(forbiddenRegistry.host, 'apps/elsewhere');
    await createImage(system, 'not-allowed', { image: `${forbidden.host}/apps/elsewhere`, interval: '2s' });
    const refused = await waitForReady(system, 'not-allowed', { status: 'False', reason: 'RegistryNotAllowed' });
    expect(readyOf(refused)?.message).toMatch(new RegExp(`registry ${forbidden.host} is not in the controller's --allowed-registries; add it there`));
    expect(forbidden.requests).toEqual([]);
    expect(await metricSum('image_controller_checks_total', `registry="${forbidden.host}",reason="RegistryNotAllowed"`)).toBeGreaterThan(0);
  });

  it.each([
    ['169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['169.254.169.254:80/computemetadata/v1', '169.254.169.254:80'],
    ['[fe80::1]:5000/apps/demo', '[fe80::1]:5000'],
    // 169.254.169.254 written inside IPv6 (IPv4-mapped, NAT64), which a pattern on dotted quads missed.
    ['[::ffff:a9fe:a9fe]:80/latest/meta-data', '[::ffff:a9fe:a9fe]:80'],
    ['[64:ff9b::a9fe:a9fe]:80/latest/meta-data', '[64:ff9b::a9fe:a9fe]:80'],
    ['metadata.google.internal/computemetadata/v1', 'metadata.google.internal'],
  ])('link-local / cloud metadata %s is refused by default, before any connection', async (reference, host) => {
    const name = `metadata-${randomBytes(3).toString('hex')}`;
    const createdAt = Date.now();
    await createImage(system, name, { image: reference, interval: '2s' });
    const refused = await waitForReady(system, name, { status: 'False', reason: 'RegistryNotAllowed' }, { timeoutMs: 5_000 });
    expect(Date.now() - createdAt).toBeLessThan(5_000);
    expect(readyOf(refused)?.message).toMatch(/a link-local or cloud metadata address the controller never contacts/);
    expect(await metricSum('image_controller_checks_total', `registry="${host}",reason="RegistryNotAllowed"`)).toBeGreaterThan(0);
  });

  it('the notification endpoint wants the token, refuses a wrong one and caps the body size', async () => {
    const url = `${system.controller!.url}/notifications`;
    const envelope = JSON.stringify({ events: [{ action: 'push', target: { repository: 'apps/x', tag: 'latest' } }] });
    const post = (headers: Record<string, string>, body = envelope) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json', ...headers }, body });
    expect((await post({})).status).toBe(401);
    const wrong = system.notificationToken.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect((await post({ authorization: `Bearer ${wrong}` })).status).toBe(401);
    expect((await post({ authorization: system.notificationToken })).status).toBe(401);
    const huge = JSON.stringify({ events: [], padding: 'x'.repeat(2 * 1024 * 1024) });
    expect((await post({ authorization: `Bearer ${system.notificationToken}` }, huge)).status).toBe(413);
    expect((await post({ authorization: `Bearer ${system.notificationToken}` })).status).toBe(202);
  });

  it('a planted registry password never appears in logs, Events, Image status or metrics', async ({ task }) => {
    const registry = authRegistry.host;
    const digest = await pushTo(registry, 'apps/private', { creds: authRegistry.creds });
    await system.apply(dockerConfigSecret('planted', registry, LEAK_USER, LEAK_PASSWORD));
    await system.apply(dockerConfigSecret('planted-wrong', registry, LEAK_USER, WRONG_PASSWORD));
    // Success, a failure with the right credentials, and a refusal of wrong ones: every path that handles them.
    await createImage(system, 'leak-ok', { image: `${registry}/apps/private`, interval: '2s', pullSecrets: [{ name: 'planted' }] });
    await createImage(system, 'leak-missing', { image: `${registry}/apps/private:nope`, interval: '2s', pullSecrets: [{ name: 'planted' }] });
    await createImage(system, 'leak-wrong', { image: `${registry}/apps/private`, interval: '2s', pullSecrets: [{ name: 'planted-wrong' }] });
    await system.waitForLatestImage('leak-ok', `${registry}/apps/private@${digest}`);
    await waitForReady(system, 'leak-missing', { status: 'False', reason: 'NotFound' });
    await waitForReady(system, 'leak-wrong', { status: 'False', reason: 'Unauthorized' });
    const log = system.controller!.process.log();
    expect(log).toContain('Checking digest for:'); // debug logs were on

    const forms: Record<string, string> = {};
    for (const [label, password] of [['password', LEAK_PASSWORD], ['wrong password', WRONG_PASSWORD]] as const) {
      const pair = `${LEAK_USER}:${password}`;
      const secret = dockerConfigSecret('x', registry, LEAK_USER, password) as { data: Record<string, string> };
      Object.assign(forms, {
        [label]: password,
        [`${label} base64`]: Buffer.from(password).toString('base64'),
        [`${label} user:password`]: pair,
        [`${label} base64(user:password)`]: Buffer.from(pair).toString('base64'),
        [`${label} .dockerconfigjson base64`]: secret.data['.dockerconfigjson']!,
      });
    }
    const places: Record<string, string> = {
      'controller log': log,
      Events: await system.kubectl(['get', 'events', '-A', '-o', 'json']),
      'Image status': await system.kubectl(['get', 'images.example.com', '-A', '-o', 'json']),
      '/metrics': await system.metrics(),
    };
    const found = Object.entries(places).flatMap(([place, text]) =>
      Object.entries(forms).filter(([, value]) => text.includes(value)).map(([form]) => `${form} in ${place}`),
    );
    task.meta.leaks = found.length;
    expect(found).toEqual([]);
  });
});
