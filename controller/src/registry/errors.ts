/**
 * The one error type of the registry module. `reason` is what the Image's Ready condition reports and
 * what callers branch on; `message` says, for a person, what happened and what to change.
 */
import type { ImageReason } from '../api/image.js';

export interface RegistryErrorDetails {
  /** How long the registry asked us to wait (429 Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** The HTTP status that caused the error, when there was one. */
  httpStatus?: number;
  /** The underlying error (socket, TLS, DNS), kept for debugging; never shown as the message. */
  cause?: unknown;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly reason: ImageReason;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;

  constructor(reason: ImageReason, message: string, details: RegistryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = reason;
    this.retryAfterMs = details.retryAfterMs;
    this.httpStatus = details.httpStatus;
  }
}
