import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { makeImage } from '../testing/images.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { EventWriter } from './api.js';
import { EventRecorder } from './events.js';

const log = createLogger({ write: () => undefined });

class FakeEvents implements EventWriter {
  readonly stored = new Map<string, CoreV1Event>();
  creates = 0;
  patches = 0;
  async createEvent(_namespace: string, event: CoreV1Event): Promise<CoreV1Event> {
    this.creates++;
    this.stored.set(event.metadata.name!, event);
    return event;
  }
  async patchEvent(_namespace: string, name: string, patch: Partial<CoreV1Event>): Promise<CoreV1Event | undefined> {
    const event = this.stored.get(name);
    if (!event) return undefined;
    this.patches++;
    Object.assign(event, patch);
    return event;
  }
}

describe('EventRecorder', () => {
  it('aggregates repeats of one reason on one Image into one Event with a count', async () => {
    const writer = new FakeEvents();
    const recorder = new EventRecorder({ writer, clock: new ManualClock(), log, instance: 'pod-1' });
    const image = makeImage('demo');
    for (let i = 0; i < 5; i++) await recorder.record(image, { type: 'Warning', reason: 'NotFound', message: `attempt ${i}` });
    await recorder.record(image, { type: 'Normal', reason: 'DigestResolved', message: 'found' });
    expect(writer.creates).toBe(2);
    expect(writer.patches).toBe(4);
    const warning = [...writer.stored.values()].find((e) => e.reason === 'NotFound')!;
    expect(warning).toMatchObject({
      count: 5,
      message: 'attempt 4',
      type: 'Warning',
      involvedObject: { apiVersion: 'example.com/v1', kind: 'Image', name: 'demo', namespace: 'default', uid: 'uid-default-demo' },
      source: { component: 'image-controller' },
    });
  });

  it('starts a new Event when the old one has expired', async () => {
    const writer = new FakeEvents();
    const recorder = new EventRecorder({ writer, clock: new ManualClock(), log, instance: 'pod-1' });
    const image = makeImage('demo');
    await recorder.record(image, { type: 'Warning', reason: 'NotFound', message: 'gone' });
    writer.stored.clear();
    await recorder.record(image, { type: 'Warning', reason: 'NotFound', message: 'gone' });
    expect(writer.creates).toBe(2);
    expect([...writer.stored.values()][0]!.count).toBe(1);
  });

  it('never throws into the check when the API server refuses', async () => {
    const writer = new FakeEvents();
    writer.createEvent = async () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 }));
    const recorder = new EventRecorder({ writer, clock: new ManualClock(), log, instance: 'pod-1' });
    await expect(recorder.record(makeImage('demo'), { type: 'Warning', reason: 'NotFound', message: 'x' })).resolves.toBeUndefined();
  });
});
