/**
 * core/v1 Events on Images (what `kubectl describe image` shows). Aggregated like client-go's recorder:
 * one Event per (Image, type, reason) whose count and message are patched on each repeat, so an Image that
 * fails every few seconds updates one Event instead of creating thousands. Best effort: a failure to
 * record is logged, never thrown into the check.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { IMAGE_API_VERSION, IMAGE_KIND, ImageReason, imageNamespace, type Image, type ImageEvent } from '../api/image.js';
import type { EventWriter } from './api.js';
import { describeApiError } from './client.js';

export const EVENT_SOURCE = 'image-controller';
const EVENT_TYPES = ['Normal', 'Warning'] as const;

/** One Event per (Image, type, reason). */
function recordedKey(image: Image, event: Pick<ImageEvent, 'type' | 'reason'>): string {
  // join() makes one flat string; a template literal would keep a tree of its nine parts (~290 bytes) for
  // as long as the key is remembered, which is the life of every Image that has had an Event.
  return [imageNamespace(image), image.metadata.name, image.metadata.uid ?? '', event.type, event.reason].join('/');
}

interface Recorded {
  namespace: string;
  name: string;
  count: number;
}

export interface EventRecorderOptions {
  writer: EventWriter;
  clock: Clock;
  log: Logger;
  /** This replica (the pod name), shown as the Event's reporting instance. */
  instance: string;
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #recorded = new Map<string, Recorded>();

  constructor(options: EventRecorderOptions) {
    this.#options = options;
  }

  async record(image: Image, event: ImageEvent): Promise<void> {
    const { writer, clock, log } = this.#options;
    const namespace = imageNamespace(image);
    const key = recordedKey(image, event);
    const now = new Date(clock.now());
    try {
      const previous = this.#recorded.get(key);
      if (previous) {
        const count = previous.count + 1;
        const patched = await writer.patchEvent(namespace, previous.name, { count, message: event.message, lastTimestamp: now });
        if (patched) {
          previous.count = count;
          return;
        }
        // The API server garbage-collects Events after an hour: start a new one.
      }
      const name = `${image.metadata.name}.${now.getTime().toString(16)}${randomBytes(4).toString('hex')}`;
      await writer.createEvent(namespace, this.#newEvent(image, namespace, name, event, now));
      this.#recorded.set(key, { namespace, name, count: 1 });
    } catch (error) {
      const refusal = describeApiError(error);
      log.warn('could not record Event', { namespace, image: image.metadata.name, reason: event.reason, code: refusal.code, refusal: refusal.reason, error: refusal.message });
    }
  }

  /** Drops what is remembered about a deleted Image's Events. */
  forget(image: Image): void {
    for (const type of EVENT_TYPES) for (const reason of Object.values(ImageReason)) this.#recorded.delete(recordedKey(image, { type, reason }));
  }

  #newEvent(image: Image, namespace: string, name: string, event: ImageEvent, now: Date): CoreV1Event {
    return {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: IMAGE_API_VERSION,
        kind: IMAGE_KIND,
        namespace,
        name: image.metadata.name,
        uid: image.metadata.uid,
        resourceVersion: image.metadata.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: EVENT_SOURCE },
      reportingComponent: EVENT_SOURCE,
      reportingInstance: this.#options.instance,
    };
  }
}
