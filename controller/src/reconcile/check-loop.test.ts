import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { ImageReason, MAX_CONDITION_MESSAGE_LENGTH, type Image, type ImageEvent, type ImageStatus } from '../api/image.js';
import type { ImageStatusWriter } from '../kube/api.js';
import { createLogger } from '../log.js';
import { RegistryError, type ImageReference } from '../registry/index.js';
import { DIGEST_A, DIGEST_B, makeImage, OCI_INDEX } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import { RecordingMetrics } from '../testing/metrics.js';
import { CheckLoop } from './check-loop.js';
import { imageKey, parseSpec } from './image-record.js';
import { firstPeriod, NOTIFICATION_LOOK_AGAIN_MS } from './next-check.js';
import { createImageResolver } from './resolver.js';

const log = createLogger({ write: () => undefined });
/** No Image in these tests has spec.verification; reconcile's own tests cover it. */
const noVerification = () => Promise.reject(new Error('no Image here asks for a signature'));

/** The API server as far as the controller writes to it: every write is counted. */
class FakeApiServer implements ImageStatusWriter {
  readonly patches: { key: string; patch: Partial<ImageStatus> }[] = [];
  readonly events: { key: string; event: ImageEvent }[] = [];
  readonly stored = new Map<string, Image>();
  /** While set, every status patch is refused with it (RBAC taken away). */
  refusal: Error | undefined;
  #version = 100;

  get writes(): number {
    return this.patches.length + this.events.length;
  }

  async patchImageStatus(namespace: string, name: string, patch: Partial<ImageStatus>): Promise<Image | undefined> {
    const key = `${namespace}/${name}`;
    const image = this.stored.get(key);
    if (!image) return undefined;
    if (this.refusal) throw this.refusal;
    this.patches.push({ key, patch });
    const updated = { ...image, metadata: { ...image.metadata, resourceVersion: String(++this.#version) }, status: { ...image.status, ...patch } };
    this.stored.set(key, updated);
    return structuredClone(updated);
  }

  eventSink = {
    record: async (image: Image, event: ImageEvent) => void this.events.push({ key: imageKey(image), event }),
    forget: () => undefined,
  };

  lastStatus(key: string): ImageStatus | undefined {
    return this.stored.get(key)?.status;
  }
}

type Answer = { digest: string } | { error: RegistryError };

/** Leadership a test hands over and takes back. */
class TestLeadership {
  isLeader: boolean;
  readonly #listeners: ((leading: boolean) => void)[] = [];
  constructor(isLeader = true) {
    this.isLeader = isLeader;
  }
  onChange(listener: (leading: boolean) => void): void {
    this.#listeners.push(listener);
  }
  /** Changes leadership and says so, as the elector does. */
  set(leading: boolean): void {
    this.isLeader = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}

/** For Images without a policy, which never list tags. */
const notListed = async (): Promise<never> => {
  throw new Error('these Images have no policy: nothing should list tags');
};

function setup(options: { leader?: boolean; logLines?: string[]; random?: () => number } = {}) {
  const clock = new ManualClock();
  const api = new FakeApiServer();
  const answers: Answer[] = [];
  let nextAnswer: Answer = { digest: DIGEST_A };
  const resolveDigest = vi.fn(async (ref: ImageReference) => {
    const answer = answers.shift() ?? nextAnswer;
    if ('error' in answer) throw answer.error;
    return { digest: answer.digest, mediaType: OCI_INDEX, latestImage: ref.digestReference(answer.digest) };
  });
  const leadership = new TestLeadership(options.leader ?? true);
  const metrics = new RecordingMetrics();
  const controller = new CheckLoop({
    status: api,
    events: api.eventSink,
    resolve: createImageResolver({ registry: { resolveDigest, listTags: notListed }, access: async () => ({}), endpointFor: async () => undefined, clock }),
    verify: noVerification,
    leadership,
    clock,
    log: options.logLines ? createLogger({ write: (line) => void options.logLines!.push(line) }) : log,
    defaultIntervalMs: 10_000,
    concurrency: 16,
    random: options.random ?? (() => 0.5),
    metrics,
  });
  const add = (...images: Image[]) => {
    for (const image of images) api.stored.set(imageKey(image), image);
    controller.replaceAll([...api.stored.values()]);
  };
  return {
    clock,
    api,
    controller,
    resolveDigest,
    leadership,
    metrics,
    add,
    answer: (...next: Answer[]) => answers.push(...next),
    setAnswer: (answer: Answer) => (nextAnswer = answer),
  };
}

/** The second check of an Image comes this long after its first, with setup()'s random of 0.5. */
const FIRST_PERIOD_MS = firstPeriod(10_000, () => 0.5);

const ready = (status: ImageStatus | undefined) => status?.conditions?.find((c) => c.type === 'Ready');

describe('CheckLoop', () => {
  it('a new digest gives exactly one status patch; an unchanged digest gives no API writes', async () => {
    const { clock, api, add, resolveDigest } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    expect(api.patches).toHaveLength(1);
    expect(api.lastStatus('default/demo')).toMatchObject({ latestImage: `localhost:5000/apps/demo@${DIGEST_A}`, complete: true, digest: DIGEST_A });
    expect(api.events.map((e) => e.event.reason)).toEqual(['DigestResolved']);
    const writes = api.writes;

    await clock.advance(60_000);
    expect(resolveDigest.mock.calls.length).toBeGreaterThanOrEqual(6);
    expect(api.writes).toBe(writes);
  });

  it('a moved tag is patched once with the new digest', async () => {
    const { clock, api, add, setAnswer } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    setAnswer({ digest: DIGEST_B });
    await clock.advance(10_000);
    expect(api.patches).toHaveLength(2);
    expect(api.patches[1]!.patch).toMatchObject({ latestImage: `localhost:5000/apps/demo@${DIGEST_B}`, digest: DIGEST_B });
    await clock.advance(30_000);
    expect(api.patches).toHaveLength(2);
  });

  it('an error sets Ready=False, keeps latestImage, backs off 1 s, 2 s, then recovers to Ready=True', async () => {
    const { clock, api, add, answer, resolveDigest } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    const unavailable = { error: new RegistryError(ImageReason.RegistryUnavailable, 'registry localhost:5000 refused the connection') };
    answer(unavailable, unavailable);
    await clock.advance(FIRST_PERIOD_MS);
    const failed = api.lastStatus('default/demo');
    expect(ready(failed)).toMatchObject({ status: 'False', reason: 'RegistryUnavailable', message: 'registry localhost:5000 refused the connection' });
    expect(failed?.latestImage).toBe(`localhost:5000/apps/demo@${DIGEST_A}`);
    expect(resolveDigest).toHaveBeenCalledTimes(2);

    await clock.advance(999);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    await clock.advance(1);
    expect(resolveDigest).toHaveBeenCalledTimes(3); // the second failure, 1 s later
    await clock.advance(1_999);
    expect(resolveDigest).toHaveBeenCalledTimes(3);
    await clock.advance(1);
    expect(resolveDigest).toHaveBeenCalledTimes(4); // 2 s later: the registry is back
    expect(ready(api.lastStatus('default/demo'))).toMatchObject({ status: 'True', reason: 'DigestResolved' });
    expect(api.events.map((e) => e.event.reason)).toEqual(['DigestResolved', 'RegistryUnavailable', 'RegistryUnavailable']);
  });

  it("honours the registry's Retry-After", async () => {
    const { clock, api, add, answer, resolveDigest } = setup();
    answer({ error: new RegistryError(ImageReason.RateLimited, 'too many requests', { retryAfterMs: 45_000, httpStatus: 429 }) });
    add(makeImage('demo'));
    await clock.advance(0);
    expect(ready(api.lastStatus('default/demo'))?.reason).toBe('RateLimited');
    await clock.advance(44_999);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
  });

  it('1,000 Images on one tag share one registry request, and about one per interval after that', async () => {
    const { clock, api, add, resolveDigest } = setup();
    add(...Array.from({ length: 1_000 }, (_, i) => makeImage(`demo-${i}`)));
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    expect(api.patches).toHaveLength(1_000);
    await clock.advance(10_000);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    expect(api.patches).toHaveLength(1_000);
  });

  it('Images spread over the interval by jitter still make one registry request per interval', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646; // deterministic, uniform enough
    const { clock, add, resolveDigest } = setup({ random });
    add(...Array.from({ length: 1_000 }, (_, i) => makeImage(`demo-${i}`)));
    await clock.advance(20_000); // the first periods are jittered ±10%: phases spread over 9–11 s
    const before = resolveDigest.mock.calls.length;

    await clock.advance(100_000);

    expect(resolveDigest.mock.calls.length - before).toBe(10);
  }, 30_000); // ~12,000 checks on the hand-driven clock: 4 s of CPU, more on a loaded machine

  it("sets an Image's phase once, anywhere in its interval, then keeps its period exactly", async () => {
    const { clock, add, resolveDigest } = setup({ random: () => 0.25 });
    add(makeImage('demo'));
    await clock.advance(0);
    await clock.advance(7_499);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    await clock.advance(1); // a first period of 75% of 10 s
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    await clock.advance(9_999);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    await clock.advance(1); // then exactly 10 s
    expect(resolveDigest).toHaveBeenCalledTimes(3);
  });

  it('spreads Images created together evenly over the interval', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const { clock, add, resolveDigest } = setup({ random });
    add(...Array.from({ length: 1_000 }, (_, i) => makeImage(`demo-${i}`, { image: `localhost:5000/apps/app-${i}` })));
    await clock.advance(10_000); // every first check, then each Image's first period
    const perSecond: number[] = [];
    for (let second = 0; second < 10; second++) {
      const before = resolveDigest.mock.calls.length;
      await clock.advance(1_000);
      perSecond.push(resolveDigest.mock.calls.length - before);
    }
    // 100 checks a second on average; a burst (all in the same second or two) would break the bounds.
    expect(Math.max(...perSecond)).toBeLessThan(150);
    expect(Math.min(...perSecond)).toBeGreaterThan(50);
  });

  it('a lone Image never gets its own previous answer back, even when the request starts after the check did', async () => {
    const clock = new ManualClock();
    const resolveDigest = vi.fn(async (ref: ImageReference) => ({ digest: DIGEST_A, mediaType: OCI_INDEX, latestImage: ref.digestReference(DIGEST_A) }));
    const api = new FakeApiServer();
    const controller = new CheckLoop({
      status: api,
      events: api.eventSink,
      // Reading credentials takes a moment, so the registry request starts 5 ms into the check.
      resolve: createImageResolver({
        registry: { resolveDigest, listTags: notListed },
        access: () => new Promise((resolve) => clock.setTimer(() => resolve({}), 5)),
        endpointFor: async () => undefined,
        clock,
      }),
      verify: noVerification,
      leadership: new TestLeadership(),
      clock,
      log,
      metrics: new RecordingMetrics(),
      defaultIntervalMs: 10_000,
      concurrency: 16,
      random: () => 0,
    });
    const image = makeImage('demo');
    api.stored.set(imageKey(image), image);
    controller.replaceAll([image]);

    await clock.advance(30_100);

    expect(resolveDigest).toHaveBeenCalledTimes(4); // at 0 s, then every 10 s
  });

  it('Images with different credentials do not share an answer', async () => {
    const clock = new ManualClock();
    const resolveDigest = vi.fn(async (ref: ImageReference) => ({ digest: DIGEST_A, mediaType: OCI_INDEX, latestImage: ref.digestReference(DIGEST_A) }));
    const resolve = createImageResolver({
      registry: { resolveDigest, listTags: notListed },
      access: async (image) => ({ credentials: { username: image.metadata.name, password: 'secret' } }),
      endpointFor: async () => undefined,
      clock,
    });
    const spec = parseSpec(makeImage('a'), 10_000);
    if (!spec.valid) throw new Error(spec.invalid);
    await Promise.all([resolve(makeImage('a'), spec, 0), resolve(makeImage('b'), spec, 0), resolve(makeImage('a'), spec, 0)]);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
  });

  it('a re-check asks the registry afresh, for the matching Images only', async () => {
    const { clock, api, add, setAnswer, controller, resolveDigest } = setup();
    add(makeImage('demo'), makeImage('other', { image: 'localhost:5000/apps/other' }));
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    setAnswer({ digest: DIGEST_B });
    await clock.advance(1_000);
    expect(controller.recheckPushed([{ repository: 'apps/demo', tag: 'latest' }])).toBe(1);
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(3);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_B);
    expect(api.lastStatus('default/other')?.digest).toBe(DIGEST_A);
  });

  it('a notified Image is looked at again soon after, until it shows the pushed digest: the registry notifies before it moves the tag', async () => {
    const { clock, api, add, setAnswer, controller, resolveDigest } = setup();
    add(makeImage('demo'));
    await clock.advance(1_000);
    expect(controller.recheckPushed([{ repository: 'apps/demo', tag: 'latest', digest: DIGEST_B }])).toBe(1);
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_A); // the tag has not moved yet

    setAnswer({ digest: DIGEST_B });
    await clock.advance(NOTIFICATION_LOOK_AGAIN_MS[0]);
    expect(resolveDigest).toHaveBeenCalledTimes(3);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_B);

    await clock.advance(NOTIFICATION_LOOK_AGAIN_MS.at(-1)!); // settled: no more looks, only the poll
    expect(resolveDigest).toHaveBeenCalledTimes(3);
  });

  it('keeps looking again after a notification for as long as the pushed digest does not show, then stops', async () => {
    const { clock, add, controller, resolveDigest } = setup();
    add(makeImage('demo', { interval: '10m' }));
    await clock.advance(1_000);
    controller.recheckPushed([{ repository: 'apps/demo', tag: 'latest' }]);
    await clock.advance(60_000);
    expect(resolveDigest).toHaveBeenCalledTimes(2 + NOTIFICATION_LOOK_AGAIN_MS.length);
  });

  it('a refused status patch (403) is logged with the reason and the missing permission, counted, and retried until allowed', async () => {
    const logLines: string[] = [];
    const { clock, api, add, setAnswer, metrics } = setup({ logLines });
    add(makeImage('demo'));
    await clock.advance(0);
    const message = 'images.example.com "demo" is forbidden: User "system:serviceaccount:image-controller-system:image-controller" cannot patch resource "images/status" in API group "example.com" in the namespace "default"';
    api.refusal = new ApiException(403, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', reason: 'Forbidden', message, code: 403 }), {});
    setAnswer({ digest: DIGEST_B });

    await clock.advance(FIRST_PERIOD_MS + 1_000 + 2_000);
    expect(metrics.patchFailures).toEqual([403, 403, 403]);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_A);
    // The status cannot say it, so each refused write's Event does (the recorder aggregates repeats).
    expect(api.events.map((e) => e.event.reason)).toEqual(['DigestResolved', 'DigestResolved', 'DigestResolved', 'DigestResolved']);
    const refusal = JSON.parse(logLines.find((line) => line.includes('could not patch Image status'))!);
    expect(refusal).toMatchObject({ level: 'warn', image: 'demo', code: 403, reason: 'Forbidden', error: message });

    api.refusal = undefined;
    await clock.advance(4_000);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_B);
    expect(api.events).toHaveLength(5);
  });

  it('a standby checks nothing until it leads', async () => {
    const { clock, api, add, leadership, resolveDigest } = setup({ leader: false });
    add(makeImage('demo'));
    await clock.advance(30_000);
    expect(resolveDigest).not.toHaveBeenCalled();
    leadership.set(true);
    await clock.advance(0);
    expect(api.patches).toHaveLength(1);
  });

  it('a spec change is checked at once; a status echo is not', async () => {
    const { clock, api, add, controller, resolveDigest } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    controller.upsert(api.stored.get('default/demo')!);
    await clock.advance(1_000);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    const current = api.stored.get('default/demo')!;
    const changed = { ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, image: 'localhost:5000/apps/demo:v2' } };
    api.stored.set('default/demo', changed);
    controller.upsert(changed);
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
  });

  it('an Image unsuspended while its suspended check runs is checked again', async () => {
    const { clock, api, add, controller, resolveDigest } = setup();
    const suspended = makeImage('demo', { suspend: true });
    const patch = api.patchImageStatus.bind(api);
    // The spec changes while the Suspended status is being written.
    vi.spyOn(api, 'patchImageStatus').mockImplementationOnce(async (namespace, name, status) => {
      const unsuspended = { ...suspended, metadata: { ...suspended.metadata, generation: 2 }, spec: { ...suspended.spec, suspend: false } };
      api.stored.set('default/demo', unsuspended);
      controller.upsert(unsuspended);
      return patch(namespace, name, status);
    });
    add(suspended);
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
  });

  it('a deleted Image is not written to and not checked again', async () => {
    const { clock, api, add, controller, resolveDigest } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    controller.replaceAll([]);
    await clock.advance(60_000);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    expect(api.patches).toHaveLength(1);
    expect(controller.size).toBe(0);
  });

  it('a failed status write is retried with backoff', async () => {
    const { clock, api, add, resolveDigest } = setup();
    add(makeImage('demo'));
    const patch = vi.spyOn(api, 'patchImageStatus').mockRejectedValueOnce(Object.assign(new Error('etcdserver: timeout'), { code: 500 }));
    await clock.advance(0);
    expect(api.patches).toHaveLength(0);
    await clock.advance(1_000);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    expect(patch).toHaveBeenCalledTimes(2);
    expect(api.patches).toHaveLength(1);
  });

  it('an Image its status patch finds gone is forgotten in one step: its key is not run again', async () => {
    // The old controller's remove() ran inside the check, which then put the failure count back and
    // rescheduled the deleted key at once: a second check started ([0, 0] below had two entries).
    const { clock, controller, metrics, resolveDigest } = setup();
    controller.replaceAll([makeImage('demo')]); // the watch's copy; the API server has none
    await clock.advance(60_000);
    expect(metrics.lateness).toEqual([0]);
    expect(resolveDigest).toHaveBeenCalledTimes(1);
    expect(controller.size).toBe(0);
    expect(metrics.images).toBe(0);
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('losing the lead during a check pauses the Image instead of failing it', async () => {
    const { clock, api, add, leadership, metrics, resolveDigest, setAnswer } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    setAnswer({ digest: DIGEST_B });
    const patch = api.patchImageStatus.bind(api);
    let lapsed = false;
    // The lead lapses while the registry is asked: the elector has not said so yet.
    resolveDigest.mockImplementationOnce(async (ref: ImageReference) => {
      leadership.isLeader = false;
      lapsed = true;
      return { digest: DIGEST_B, mediaType: OCI_INDEX, latestImage: ref.digestReference(DIGEST_B) };
    });
    vi.spyOn(api, 'patchImageStatus').mockImplementation(patch);
    await clock.advance(FIRST_PERIOD_MS);
    expect(lapsed).toBe(true);
    expect(api.patchImageStatus).not.toHaveBeenCalled(); // a replica that does not lead never writes
    expect(metrics.patchFailures).toEqual([]);
    // Not a failure: no 1 s retry; it waits, paused, for the elector's word.
    leadership.set(false);
    await clock.advance(60_000);
    expect(resolveDigest).toHaveBeenCalledTimes(2);
    expect(metrics.leader).toBe(false);
    leadership.set(true);
    await clock.advance(0);
    expect(resolveDigest).toHaveBeenCalledTimes(3);
    expect(api.lastStatus('default/demo')?.digest).toBe(DIGEST_B);
    expect(metrics.leader).toBe(true);
  });

  it('reports each check with the registry the Image names, and the cache size', async () => {
    const { clock, add, metrics } = setup();
    add(makeImage('demo'), makeImage('bad', { interval: 'soon' }));
    await clock.advance(0);
    expect(metrics.images).toBe(2);
    expect(metrics.checks.map(({ registry, reason, digestChanged }) => ({ registry, reason, digestChanged })).sort((a, b) => a.reason.localeCompare(b.reason))).toEqual([
      { registry: 'localhost:5000', reason: 'DigestResolved', digestChanged: true },
      { registry: '', reason: 'InvalidSpec', digestChanged: false },
    ]);
  });

  it("cuts a registry's long error text to what the CRD accepts, so the patch is not refused", async () => {
    const { clock, api, add, setAnswer } = setup();
    const patch = api.patchImageStatus.bind(api);
    // The API server's validation of the CRD's maxLength.
    vi.spyOn(api, 'patchImageStatus').mockImplementation(async (namespace, name, status) => {
      if (status.conditions?.some((c) => c.message.length > MAX_CONDITION_MESSAGE_LENGTH)) throw new ApiException(422, 'Unprocessable', '{"kind":"Status","code":422}', {});
      return patch(namespace, name, status);
    });
    setAnswer({ error: new RegistryError(ImageReason.RegistryUnavailable, `registry said: ${'x'.repeat(900_000)}`) });
    add(makeImage('demo'));
    await clock.advance(0);
    const message = ready(api.lastStatus('default/demo'))?.message ?? '';
    expect(message).toHaveLength(MAX_CONDITION_MESSAGE_LENGTH);
    expect(message).toMatch(/^registry said: x+ … \(truncated\)$/);
    expect(api.events[0]?.event.message).toBe(message);
  });

  it('a notification reaches the Images on the pushed tag through the index, merges duplicates, and runs one look-again chain per tag', async () => {
    const { clock, add, controller, resolveDigest } = setup();
    add(makeImage('demo'), makeImage('demo-2'), makeImage('other', { image: 'localhost:5000/apps/other' }), makeImage('v1', { image: 'localhost:5000/apps/demo:v1' }));
    await clock.advance(1_000);
    const before = resolveDigest.mock.calls.length;
    const pushes = Array.from({ length: 14_000 }, () => ({ repository: 'apps/demo', tag: 'latest' }));
    expect(controller.recheckPushed([...pushes, { repository: 'apps/unwatched', tag: 'latest' }])).toBe(2);
    expect(controller.recheckPushed([{ repository: 'apps/demo', tag: 'latest' }])).toBe(2); // a second push of the tag: its chain restarts
    expect(clock.pendingDelays().filter((ms) => ms <= NOTIFICATION_LOOK_AGAIN_MS[0])).toEqual([0]); // the check now; its looks again are planned when it ends, by the scheduler's one timer
    await clock.advance(0);
    expect(resolveDigest.mock.calls.length - before).toBe(1); // the two Images share one fresh answer
    await clock.advance(NOTIFICATION_LOOK_AGAIN_MS.at(-1)!);
    expect(resolveDigest.mock.calls.length - before).toBe(1 + NOTIFICATION_LOOK_AGAIN_MS.length); // one chain: one shared answer per look
  });

  it('a push of any tag of its repository reaches an Image with a tag policy', async () => {
    const { clock, add, controller } = setup();
    add(makeImage('semver', { image: 'localhost:5000/apps/releases', policy: { semver: { range: '>=1' } } }), makeImage('pinned', { image: 'localhost:5000/apps/releases:1.0.0' }));
    await clock.advance(0);
    expect(controller.recheckPushed([{ repository: 'apps/releases', tag: '1.4.0' }])).toBe(1);
    expect(controller.recheckPushed([{ repository: 'apps/releases', tag: '1.0.0' }])).toBe(2);
    expect(controller.recheckPushed([{ repository: 'apps/other', tag: '1.4.0' }])).toBe(0);
  });

  it('a changed spec moves the Image in the notification index; a deleted one leaves it', async () => {
    const { clock, add, api, controller } = setup();
    add(makeImage('demo'));
    await clock.advance(0);
    const current = api.stored.get('default/demo')!;
    controller.upsert({ ...current, metadata: { ...current.metadata, generation: 2 }, spec: { ...current.spec, image: 'localhost:5000/apps/moved' } });
    expect(controller.recheckPushed([{ repository: 'apps/demo', tag: 'latest' }])).toBe(0);
    expect(controller.recheckPushed([{ repository: 'apps/moved', tag: 'latest' }])).toBe(1);
    controller.replaceAll([]);
    expect(controller.recheckPushed([{ repository: 'apps/moved', tag: 'latest' }])).toBe(0);
  });
});
