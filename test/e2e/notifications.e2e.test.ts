// Scenario 2, push notifications: the registry POSTs each push to the controller's /notifications, and
// with polling slowed to 10 minutes a pushed tag still reaches the Deployment within 5 s, so it is the
// notification that moves it. The endpoint refuses a caller without the token, and a notification is
// only a hint: the controller confirms with a HEAD, so a payload with a made-up digest changes nothing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_MEDIA_TYPE } from '../../controller/src/server/notifications.js';
import { waitFor } from '../support/wait.js';
import { deployedImage, metricValue, replicaSetImages, scenarioSystem, waitForDeployedImage, webWorkload } from './scenario.js';

/** The bound for push → Deployment with notifications. */
const NOTIFIED_DEPLOY_MS = 5_000;
/** Polling this rarely cannot explain a change within the bound. */
const POLL_INTERVAL = '10m';
const WORKLOAD = 'notified';
const REPOSITORY = `notify/${WORKLOAD}`;

const system = scenarioSystem({ notifications: true, controllerArgs: ['--interval', POLL_INTERVAL] });

function latestImage(digest: string): string {
  return `${system.registry!.host}/${REPOSITORY}@${digest}`;
}

/** POSTs a registry notification envelope to the controller as the registry would, with `token` if given. */
function notify(events: object[], token?: string): Promise<Response> {
  return fetch(`${system.controller!.url}/notifications`, {
    method: 'POST',
    headers: { 'content-type': NOTIFICATION_MEDIA_TYPE, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ events }),
  });
}

/** HEAD requests for the watched tag in the registry's access log. */
function manifestHeads(): number {
  return readFileSync(system.registry!.logFile, 'utf8').split(`"HEAD /v2/${REPOSITORY}/manifests/latest HTTP`).length - 1;
}

async function metric(name: string, labels?: Record<string, string>): Promise<number> {
  return metricValue(await system.metrics(), name, labels);
}

describe('push notifications', () => {
  let deployedDigest = '';

  it(`deploys a pushed tag within ${NOTIFIED_DEPLOY_MS / 1000} s, with polling every ${POLL_INTERVAL}`, async () => {
    deployedDigest = await system.push(REPOSITORY);
    await system.apply(webWorkload(WORKLOAD, { imagePrefix: `${system.registry!.host}/notify/` }));
    // A new Image is checked at once: the first deployment is not what this scenario times.
    await waitForDeployedImage(system, WORKLOAD, latestImage(deployedDigest), { timeoutMs: 60_000 });
    const acceptedBefore = await metric('image_controller_notifications_total', { result: 'accepted' });

    const latencies: number[] = [];
    for (let push = 0; push < 3; push++) {
      // Timed from the start of `skopeo copy`: the notification can arrive before the push command returns.
      const pushStartedAt = Date.now();
      const digest = await system.push(REPOSITORY);
      await waitForDeployedImage(system, WORKLOAD, latestImage(digest), { timeoutMs: NOTIFIED_DEPLOY_MS - (Date.now() - pushStartedAt) });
      latencies.push(Date.now() - pushStartedAt);
      deployedDigest = digest;
    }

    console.log(`push → Deployment with notifications (polling every ${POLL_INTERVAL}): ${latencies.join(', ')} ms from the start of skopeo copy; bound ${NOTIFIED_DEPLOY_MS} ms`);
    expect(await metric('image_controller_notifications_total', { result: 'accepted' })).toBeGreaterThanOrEqual(acceptedBefore + 3);
    expect(await replicaSetImages(system, WORKLOAD)).toContain(latestImage(deployedDigest));
  });

  it('refuses a notification without the token, or with another one (401)', async () => {
    const pushed = [{ action: 'push', target: { repository: REPOSITORY, tag: 'latest' } }];

    const anonymous = await notify(pushed);
    const wrongToken = await notify(pushed, 'not-the-token');

    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(wrongToken.status).toBe(401);
    expect(await metric('image_controller_notifications_total', { result: 'unauthorized' })).toBe(2);
  });

  it('confirms with a HEAD: a notification whose digest is a lie does not change the Image', async () => {
    const before = await system.image(WORKLOAD);
    expect(before?.status?.latestImage).toBe(latestImage(deployedDigest));
    const headsBefore = manifestHeads();
    const checksBefore = await metric('image_controller_checks_total');
    const lie = `sha256:${'0'.repeat(64)}`;

    const response = await notify(
      [{
        action: 'push',
        target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: lie, repository: REPOSITORY, tag: 'latest', size: 528 },
        request: { host: system.registry!.host, method: 'PUT' },
      }],
      system.notificationToken,
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ rechecking: 1 });
    // A check is counted once its status write (if any) is done; the only Image is this one.
    await waitFor('the re-check the notification asked for', async () => (await metric('image_controller_checks_total')) > checksBefore);

    expect(manifestHeads()).toBeGreaterThan(headsBefore);
    const after = await system.image(WORKLOAD);
    expect(after?.status?.latestImage).toBe(latestImage(deployedDigest));
    expect(after?.status?.digest).not.toBe(lie);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(await deployedImage(system, WORKLOAD)).toBe(latestImage(deployedDigest));
  });
});
