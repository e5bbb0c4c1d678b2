// Smoke test of the e2e harness itself: the control plane runs its controllers, and Cartographer's
// API is installed and served, so scenario failures point at the product rather than the harness.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../support/control-plane.js';
import { waitFor } from '../support/wait.js';

const controlPlane = new ControlPlane();

beforeAll(async () => {
  await controlPlane.start();
  await controlPlane.startCartographer();
}, 180_000);

afterAll(() => controlPlane.stop(), 60_000);

describe('e2e control plane', () => {
  it('runs kube-controller-manager: a Deployment gets a ReplicaSet', async () => {
    await controlPlane.kubectl(['create', 'deployment', 'smoke', '--image=127.0.0.1:5000/smoke:1', '-n', 'default']);

    const replicaSetOwners = await waitFor('a ReplicaSet for Deployment smoke', async () => {
      const owners = await controlPlane.kubectl([
        'get', 'replicasets', '-n', 'default', '-l', 'app=smoke',
        '-o', 'jsonpath={.items[*].metadata.ownerReferences[0].name}',
      ]);
      return owners.trim() || undefined;
    });

    expect(replicaSetOwners).toBe('smoke');
  });

  it("serves Cartographer's API: its CRDs are established", async () => {
    const established = await controlPlane.kubectl([
      'get', 'crd', 'workloads.carto.run', 'clustersupplychains.carto.run', 'clusterimagetemplates.carto.run',
      '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Established")].status}',
    ]);

    expect(established.split(' ')).toEqual(['True', 'True', 'True']);
  });

  it('lets a ServiceAccount token kubeconfig act only within its RBAC', async () => {
    const kubeconfig = await controlPlane.serviceAccountKubeconfig('smoke', 'reader');

    const whoami = await controlPlane.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });

    expect(whoami).toBe('system:serviceaccount:smoke:reader');
    await expect(controlPlane.kubectl(['get', 'secrets', '-n', 'smoke'], { kubeconfig })).rejects.toThrow(/forbidden/i);
  });

  it('keeps its data across an apiserver restart on the same address', async () => {
    await controlPlane.kubectl(['create', 'configmap', 'survivor', '-n', 'default', '--from-literal=key=value']);

    await controlPlane.restartApiServer();

    const value = await controlPlane.kubectl(['get', 'configmap', 'survivor', '-n', 'default', '-o', 'jsonpath={.data.key}']);
    expect(value).toBe('value');
  });
});
