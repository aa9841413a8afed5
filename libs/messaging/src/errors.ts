import { escapeUnsafe } from '@subpack/contracts';
import type { ErrorClass } from '@subpack/contracts';

/** Bad input: retrying cannot help, so the message is parked at once. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A failure worth retrying later (any error that is not a PermanentError is treated the same way). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The broker returned a mandatory publish: no queue is bound for this exchange + routing key. */
export class UnroutableError extends Error {
  override readonly name = 'UnroutableError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(`message to exchange "${exchange}" with routing key "${routingKey}" is unroutable (${replyText}): no queue is bound for it`);
  }
}

/** The broker refused responsibility for a publish (basic.nack). */
export class PublishNackedError extends Error {
  override readonly name = 'PublishNackedError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
  ) {
    super(`broker nacked the message to exchange "${exchange}" with routing key "${routingKey}"`);
  }
}

/** The channel or connection died before the broker confirmed the publish; it may or may not have been stored. */
export class PublishInterruptedError extends Error {
  override readonly name = 'PublishInterruptedError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    reason: string,
  ) {
    super(`publish to exchange "${exchange}" with routing key "${routingKey}" was not confirmed: ${reason}`);
  }
}

/** No connection to RabbitMQ within the allowed time, or the manager is closed. */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';

  /** `lastError`: why the last connection attempt failed, when one did (refused, bad credentials, unknown host). */
  constructor(
    message: string,
    readonly lastError?: string,
  ) {
    super(message);
  }
}

/** An exchange, queue or binding could not be declared (usually: it exists with different arguments). */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

export function classifyError(error: unknown): ErrorClass {
  return error instanceof PermanentError ? 'permanent' : 'transient';
}

/** The error as one readable line for logs and failure reasons, with hostile characters escaped. */
export function describeError(error: unknown): string {
  return escapeUnsafe(rawDescription(error));
}

function rawDescription(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
