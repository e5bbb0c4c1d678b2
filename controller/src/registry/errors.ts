/**
 * The errors an Image's check fails with. `reason` is what the Image's Ready condition reports and what
 * callers branch on; `message` says, for a person, what happened and what to change.
 *
 * - `RegistryError`: talking to the registry went wrong (an HTTP answer, the network, TLS, policy), or
 *   the reference itself is malformed.
 * - `CredentialsError`: what the controller needs before it talks to the registry (a pull secret, a
 *   ServiceAccount, a CA Secret, a docker config or CA file) is missing, unreadable or malformed.
 */
import { ImageReason } from '../api/image.js';

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

/** Credentials or a CA could not be had from the cluster or a file; the registry was not contacted. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  readonly reason = ImageReason.CredentialsUnavailable;
}

/** Either error a check can fail with, each carrying the reason the Image reports. */
export type CheckError = RegistryError | CredentialsError;

export function isCheckError(error: unknown): error is CheckError {
  return error instanceof RegistryError || error instanceof CredentialsError;
}
