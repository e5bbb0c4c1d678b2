// Scenario 3, RBAC really exercised: the controller runs as the ServiceAccount dist/ gives it, so
// deleting the ClusterRole dist/ binds to it takes its write access away. A push then ends in a 403 on
// the status patch; the controller survives, logs the reason and the missing permission, counts it in
// /metrics and retries. It cannot write the Image (nor Events: the same ClusterRole grants them), so
// what shows is that nothing is lost: the Image keeps its last good status and the Deployment keeps
// running the old digest. `kubectl apply -f dist/` gives the role back and the new digest arrives by
// itself, without a controller restart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/supply-chain-system.js';
import { waitFor } from '../support/wait.js';
import { controllerLog, deployedImage, metricValue, replicaSetImages, scenarioSystem, waitForDeployedImage, webWorkload } from './scenario.js';

const WORKLOAD = 'guarded';
const REPOSITORY = `rbac/${WORKLOAD}`;

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

const system = scenarioSystem();
const serviceAccount = `system:serviceaccount:${system.identity.namespace}:${system.identity.serviceAccount}`;
const clusterRole = controllerClusterRoleFromDist();

/** The ClusterRole dist/ binds to the controller's ServiceAccount, and its rules. */
function controllerClusterRoleFromDist(): { name: string; rules: PolicyRule[] } {
  const file = join(repoRoot, 'dist/0001-image-controller.k8s.yaml');
  const objects = parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS());
  const binding = objects.find(
    (object) =>
      object?.kind === 'ClusterRoleBinding' &&
      object.subjects?.some((subject: { kind: string; name: string; namespace: string }) =>
        subject.kind === 'ServiceAccount' && subject.name === system.identity.serviceAccount && subject.namespace === system.identity.namespace),
  );
  if (!binding) throw new Error(`no ClusterRoleBinding for the controller's ServiceAccount in ${file}`);
  const role = objects.find((object) => object?.kind === 'ClusterRole' && object.metadata.name === binding.roleRef.name);
  if (!role) throw new Error(`no ClusterRole ${binding.roleRef.name} in ${file}`);
  return { name: role.metadata.name, rules: role.rules };
}

function grants(rules: PolicyRule[], apiGroup: string, resource: string, verb: string): boolean {
  return rules.some((rule) => rule.apiGroups?.includes(apiGroup) && rule.resources?.includes(resource) && rule.verbs?.includes(verb));
}

/** What the API server's authorizer answers for the controller's ServiceAccount (a SubjectAccessReview). */
async function controllerMay(verb: string, group: string, resource: string, subresource?: string): Promise<boolean> {
  const { namespace } = system.identity;
  const review = await system.kubectl(['create', '-o', 'json', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: serviceAccount,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: { namespace: 'default', verb, group, resource, subresource },
      },
    }),
  });
  return JSON.parse(review).status.allowed === true;
}

function latestImage(digest: string): string {
  return `${system.registry!.host}/${REPOSITORY}@${digest}`;
}

async function statusPatchFailures(code: string): Promise<number> {
  return metricValue(await system.metrics(), 'image_controller_status_patch_failures_total', { code });
}

async function imageEventMessages(): Promise<string[]> {
  const events = JSON.parse(await system.kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.kind=Image,involvedObject.name=${WORKLOAD}`, '-o', 'json']));
  return events.items.map((event: { message: string }) => event.message);
}

describe('the controller under RBAC', () => {
  let goodDigest = '';
  let newDigest = '';

  it(`writes Image status and Events only through the ClusterRole dist/ binds to it (${clusterRole.name})`, async () => {
    expect(grants(clusterRole.rules, 'example.com', 'images/status', 'patch')).toBe(true);
    expect(grants(clusterRole.rules, '', 'events', 'create')).toBe(true);
    expect(await controllerMay('patch', 'example.com', 'images', 'status')).toBe(true);
    expect(await controllerMay('create', '', 'events')).toBe(true);

    goodDigest = await system.push(REPOSITORY);
    await system.apply(webWorkload(WORKLOAD, { imagePrefix: `${system.registry!.host}/rbac/` }));
    await waitForDeployedImage(system, WORKLOAD, latestImage(goodDigest), { timeoutMs: 60_000 });
  });

  it('without it, a push ends in a 403 on the status patch: the controller survives, says why, counts it, and nothing is lost', async () => {
    await system.kubectl(['delete', 'clusterrole', clusterRole.name]);
    await waitFor('the controller to lose patch on images/status', async () => !(await controllerMay('patch', 'example.com', 'images', 'status')));
    expect(await controllerMay('create', '', 'events')).toBe(false);
    const goodImage = await system.image(WORKLOAD);

    newDigest = await system.push(REPOSITORY);
    // The next poll (10 s) finds the new digest; the patch is refused, retried with backoff and refused again.
    await waitFor('two refused status patches counted in /metrics', async () => (await statusPatchFailures('403')) >= 2, { timeoutMs: 60_000 });

    system.controller!.process.assertRunning();
    expect((await fetch(`${system.controller!.url}/healthz`)).status).toBe(200);
    const refusal = controllerLog(system).find((line) => line.image === WORKLOAD && line.code === 403);
    expect(refusal).toMatchObject({ level: 'warn', msg: 'could not patch Image status', reason: 'Forbidden', namespace: 'default' });
    // The API server's message names the missing permission: verb, resource and API group.
    expect(refusal?.error).toMatch(/cannot patch resource "images\/status" in API group "example\.com"/);
    expect(refusal?.error).toContain(serviceAccount.replace('system:serviceaccount:', ''));

    // The Image says what it said before: the last good digest, still Ready; so does the Deployment.
    const image = await system.image(WORKLOAD);
    expect(image?.status).toEqual(goodImage?.status);
    expect(image?.status?.latestImage).toBe(latestImage(goodDigest));
    expect(await deployedImage(system, WORKLOAD)).toBe(latestImage(goodDigest));
    expect(await replicaSetImages(system, WORKLOAD)).toEqual([latestImage(goodDigest)]);
    // Events need the same ClusterRole: none announces the new digest.
    expect((await imageEventMessages()).filter((message) => message.includes(newDigest))).toEqual([]);
  });

  it('kubectl apply -f dist/ restores the ClusterRole and the new digest arrives without a controller restart', async () => {
    const controllerProcess = system.controller!.process;
    await system.kubectl(['apply', '-f', join(repoRoot, 'dist')]);

    await system.waitForLatestImage(WORKLOAD, latestImage(newDigest), { timeoutMs: 120_000 });
    await waitForDeployedImage(system, WORKLOAD, latestImage(newDigest));

    expect(system.controller!.process).toBe(controllerProcess);
    controllerProcess.assertRunning();
    expect(controllerLog(system).filter((line) => line.msg === 'starting')).toHaveLength(1);
    // With Events allowed again, the change it could not announce is recorded.
    await waitFor('an Event announcing the new digest', async () => (await imageEventMessages()).some((message) => message.includes(newDigest)));
  });
});
