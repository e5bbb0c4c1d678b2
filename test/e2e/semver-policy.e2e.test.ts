// Choosing what to deploy through real Cartographer: a Workload with the image_semver param gets an Image
// with a semver policy (the seed's ytt template passes it on), and its Deployment runs the newest release
// in range. Pushing 1.2.0, then 1.3.0, then 2.0.0 into ">=1.0.0 <2" ends with the Deployment on 1.3.0's
// digest; `kubectl get images` shows the chosen tag in its TAG column.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { deployedImage, metricValue, scenarioSystem, waitForDeployedImage, webWorkload } from './scenario.js';

const system = scenarioSystem();
const RANGE = '>=1.0.0 <2';

/** Checks of Images on the test registry that ended resolved, from the controller's /metrics. */
async function resolvedChecks(): Promise<number> {
  const exposition = await (await fetch(`${system.controller!.url}/metrics`)).text();
  return metricValue(exposition, 'image_controller_checks_total', { registry: system.registry!.host, reason: 'DigestResolved' });
}

describe('a semver policy through the supply chain', () => {
  it(`pushing 1.2.0, 1.3.0 and 2.0.0 into "${RANGE}" ends with the Deployment on 1.3.0's digest`, async () => {
    const prefix = `${system.registry!.host}/releases/`;
    const repository = `${prefix}semver`;
    const first = await system.push('releases/semver', { tag: '1.2.0' });
    await system.apply(webWorkload('semver', { imagePrefix: prefix, imageSemver: RANGE }));
    const image = await system.waitForLatestImage('semver', `${repository}@${first}`, { timeoutMs: 60_000 });
    expect(image.spec).toMatchObject({ image: repository, policy: { semver: { range: RANGE } } });
    expect(image.status?.latestTag).toBe('1.2.0');
    await waitForDeployedImage(system, 'semver', `${repository}@${first}`);

    const newer = await system.push('releases/semver', { tag: '1.3.0' });
    await system.waitForLatestImage('semver', `${repository}@${newer}`, { timeoutMs: 30_000 });
    await waitForDeployedImage(system, 'semver', `${repository}@${newer}`);

    const outOfRange = await system.push('releases/semver', { tag: '2.0.0' });
    expect(outOfRange).not.toBe(newer);
    // Two more checks of the Image after the push (its interval is 10 s) have listed 2.0.0 and left it out.
    const before = await resolvedChecks();
    await waitFor('two checks after pushing 2.0.0', async () => (await resolvedChecks()) >= before + 2, { timeoutMs: 40_000, intervalMs: 500 });
    const after = await system.image('semver');
    expect(after?.status).toMatchObject({ latestImage: `${repository}@${newer}`, latestTag: '1.3.0' });
    expect(after?.status?.conditions?.find((c) => c.type === 'Ready')?.message).toBe(
      `${repository}:1.3.0 (chosen by semver range ${RANGE}) resolved to ${newer}`,
    );
    expect(await deployedImage(system, 'semver')).toBe(`${repository}@${newer}`);

    const table = await system.kubectl(['get', 'images', 'semver', '-n', 'default']);
    console.log(`kubectl get images\n${table}`);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+IMAGE\s+TAG\s+LATEST\s+READY\s+AGE$/);
    expect(table.split('\n')[1]).toMatch(new RegExp(`^semver\\s+${repository}\\s+1\\.3\\.0\\s+${repository}@${newer}\\s+True\\s`));
  });
});
