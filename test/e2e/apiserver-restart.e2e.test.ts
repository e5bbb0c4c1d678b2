// Scenario 4, kube-apiserver restarted mid-run: the controller's watch breaks and must come back by
// itself. The next push still reaches the Deployment, and a Workload created after the restart gets
// its Image resolved, which only a live watch can see (the cache from before knows nothing of it).
import { describe, expect, it } from 'vitest';
import { controllerLog, scenarioSystem, waitForDeployedImage, webWorkload } from './scenario.js';

const WORKLOAD = 'steady';
const NEW_WORKLOAD = 'reborn';
/**
 * Well inside the Image watch's 10 min relist, so a resolved new Image proves the watch came back, but
 * beyond its 30 s restart backoff plus an interval, on 2 busy cores.
 */
const RECOVERY_TIMEOUT_MS = 120_000;

const system = scenarioSystem();

function latestImage(workload: string, digest: string): string {
  return `${system.registry!.host}/restart/${workload}@${digest}`;
}

describe('kube-apiserver restarted under the controller', () => {
  it('deploys before the restart', async () => {
    const digest = await system.push(`restart/${WORKLOAD}`);
    await system.apply(webWorkload(WORKLOAD, { imagePrefix: `${system.registry!.host}/restart/` }));
    await waitForDeployedImage(system, WORKLOAD, latestImage(WORKLOAD, digest), { timeoutMs: 60_000 });
  });

  it('after the restart, the next push still reaches the Deployment, without restarting the controller', async () => {
    const controllerProcess = system.controller!.process;
    const restartStartedAt = Date.now();
    await system.controlPlane.restartApiServer();
    const restartMs = Date.now() - restartStartedAt;

    const pushedAt = Date.now();
    const digest = await system.push(`restart/${WORKLOAD}`);
    await system.waitForLatestImage(WORKLOAD, latestImage(WORKLOAD, digest), { timeoutMs: RECOVERY_TIMEOUT_MS });
    const imageMs = Date.now() - pushedAt;
    await waitForDeployedImage(system, WORKLOAD, latestImage(WORKLOAD, digest), { timeoutMs: RECOVERY_TIMEOUT_MS });
    const deploymentMs = Date.now() - pushedAt;

    console.log(`kube-apiserver stop + start + ready: ${restartMs} ms; then push → Image status ${imageMs} ms, → Deployment ${deploymentMs} ms (interval 10 s)`);
    expect(system.controller!.process).toBe(controllerProcess);
    controllerProcess.assertRunning();
    expect(controllerLog(system).filter((line) => line.msg === 'starting')).toHaveLength(1);
    // It did see the watch break (and listed again, without restarting itself).
    expect(controllerLog(system).some((line) => line.msg === 'Image watch failed; listing again')).toBe(true);
  });

  it('a Workload created after the restart is resolved: the watch is live, not just its old cache', async () => {
    const digest = await system.push(`restart/${NEW_WORKLOAD}`);
    const appliedAt = Date.now();
    await system.apply(webWorkload(NEW_WORKLOAD, { imagePrefix: `${system.registry!.host}/restart/` }));

    const image = await system.waitForLatestImage(NEW_WORKLOAD, latestImage(NEW_WORKLOAD, digest), { timeoutMs: RECOVERY_TIMEOUT_MS });
    await waitForDeployedImage(system, NEW_WORKLOAD, latestImage(NEW_WORKLOAD, digest), { timeoutMs: RECOVERY_TIMEOUT_MS });

    console.log(`new Workload after the restart → Deployment in ${Date.now() - appliedAt} ms`);
    expect(image.status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ status: 'True', reason: 'DigestResolved' });
  });
});
