import { MESSAGING_DEFAULTS } from './defaults';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError, describeError, TransientError } from './errors';
import { copyProperties, failureCount, headerString } from './headers';
import { type IncomingMessage, toIncomingMessage } from './incoming-message';
import type { MessagingLogger } from './logger';
import { HEADERS } from './names';
import { settleWithin } from './timeout';
import type { Publisher } from './publisher';
import { DEFAULT_MAX_PARKED_BODY_BYTES } from './retry-scheduler';
import { FORGED_REASON, type MessageSigner } from './signing';

export type MessageHandler = (message: IncomingMessage) => Promise<void> | void;

/** What happens to a message whose handler failed. */
export type FailureMode =
  /** Publish a copy with failure headers to the dead exchange (confirmed), then ack. The normal mode. */
  | 'dead-letter'
  /** nack(requeue) after `requeueDelayMs`: for the consumer of the dead queue itself, which has nowhere to fail to. */
  | 'requeue';

export interface ConsumeOptions {
  /** Unacked deliveries (and so concurrently running handlers) per consumer. Default 1. */
  readonly prefetch?: number;
  /** Default: the manager's dead exchange name. */
  readonly deadExchange?: string;
  /** Default 'dead-letter'. */
  readonly onFailure?: FailureMode;
  /** Default 1000 ms. */
  readonly requeueDelayMs?: number;
  /**
   * Deadline of one handler run. When it passes the message is failed (retried or parked like any transient failure)
   * and its prefetch slot freed; the handler itself cannot be stopped, so it is counted as stuck until it returns.
   * Default: none.
   */
  readonly handlerTimeoutMs?: number;
  /**
   * The routing key this queue's messages must be signed under (an internal queue). A delivery without a valid
   * signature is parked as forged before the handler sees it. Default: none (anyone allowed to publish may).
   */
  readonly signedRoutingKey?: string;
}

/** A handler ran past its deadline; the message is failed so it is retried or parked instead of hanging forever. */
export class HandlerTimeoutError extends TransientError {
  constructor(queue: string, timeoutMs: number) {
    super(`handler on queue "${queue}" did not finish within ${timeoutMs} ms; the message was failed and the handler is still running`);
  }
}

export interface ConsumerDependencies {
  readonly publisher: Publisher;
  readonly logger: MessagingLogger;
  readonly deadExchange: string;
  /** Where forged deliveries are parked. */
  readonly parkedExchange?: string;
  readonly signer?: MessageSigner;
}

/** Keeps failure headers readable and the header table well under the broker's frame size. */
const MAX_ERROR_HEADER_LENGTH = 2000;

/**
 * Consumes one queue on its own channel; re-attached by the connection manager after every reconnect.
 * A delivery is acked/nacked only on the channel it came from, and only while that channel is open: deliveries of a
 * dead channel are redelivered by the broker, and acking them on a new channel would be a protocol error.
 */
export class Consumer {
  private channel?: Channel;
  private consumerTag?: string;
  private cancelled = false;
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stuck = new Set<Promise<void>>();
  private readonly prefetch: number;
  private readonly failureMode: FailureMode;
  private readonly requeueDelayMs: number;
  private readonly handlerTimeoutMs: number | undefined;
  private readonly deadExchange: string;

  constructor(
    readonly queue: string,
    private readonly handler: MessageHandler,
    private readonly options: ConsumeOptions,
    private readonly deps: ConsumerDependencies,
  ) {
    this.prefetch = options.prefetch ?? MESSAGING_DEFAULTS.prefetch;
    this.failureMode = options.onFailure ?? 'dead-letter';
    this.requeueDelayMs = options.requeueDelayMs ?? MESSAGING_DEFAULTS.requeueDelayMs;
    this.handlerTimeoutMs = options.handlerTimeoutMs;
    this.deadExchange = options.deadExchange ?? deps.deadExchange;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) {
      throw new RangeError(`prefetch for queue "${queue}" must be a positive integer, got ${String(options.prefetch)}`);
    }
  }

  /** Handlers currently running. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Handlers past their deadline that have still not returned (their messages were already failed). */
  get stuckCount(): number {
    return this.stuck.size;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  /** Opens a channel on `connection` and starts consuming (called on every connect). */
  async attach(connection: ChannelModel): Promise<void> {
    if (this.cancelled) return;
    const channel = await connection.createChannel();
    channel.on('error', (error: unknown) => this.deps.logger.warn({ queue: this.queue, error: describeError(error) }, 'consumer channel error'));
    channel.on('close', () => this.closedChannels.add(channel));
    try {
      await channel.prefetch(this.prefetch);
      const { consumerTag } = await channel.consume(this.queue, (message) => this.onDelivery(channel, message), { noAck: false });
      this.channel = channel;
      this.consumerTag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw error;
    }
  }

  /** Stops new deliveries (basic.cancel) and keeps the consumer from re-attaching. Running handlers continue. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    const { channel, consumerTag } = this;
    if (channel === undefined || consumerTag === undefined || this.closedChannels.has(channel)) return;
    try {
      await channel.cancel(consumerTag);
    } catch (error) {
      this.deps.logger.warn({ queue: this.queue, error: describeError(error) }, 'cannot cancel consumer');
    }
  }

  /** Resolves true once no handler runs, false if `timeoutMs` passes first. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // Loop: a delivery may start while we wait for the current ones (before basic.cancel-ok arrives).
    while (this.inFlight.size > 0) {
      const outcome = await settleWithin(Promise.allSettled([...this.inFlight]), deadline - Date.now());
      if (!outcome.settled) return false;
    }
    return true;
  }

  /** Closes the consumer's channel (unacked deliveries go back to the queue). */
  async closeChannel(): Promise<void> {
    const channel = this.channel;
    if (channel === undefined || this.closedChannels.has(channel)) return;
    await channel.close().catch(() => undefined);
  }

  private onDelivery(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted, or similar); the next reconnect re-attaches.
      this.deps.logger.error({ queue: this.queue }, 'consumer was cancelled by the broker');
      return;
    }
    if (this.cancelled) {
      // Delivered while cancelling: give it back untouched.
      this.settle(channel, () => channel.nack(message, false, true));
      return;
    }
    const task: Promise<void> = this.process(channel, message).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async process(channel: Channel, raw: ConsumeMessage): Promise<void> {
    const message = toIncomingMessage(this.queue, raw);
    if (this.options.signedRoutingKey !== undefined && !this.deps.signer?.verify(this.options.signedRoutingKey, raw.content, message.headers)) {
      await this.parkForged(channel, raw);
      return;
    }
    try {
      const running = Promise.resolve().then(() => this.handler(message));
      if (this.handlerTimeoutMs === undefined) {
        await running;
      } else if (!(await settleWithin(running, this.handlerTimeoutMs)).settled) {
        this.trackStuck(running);
        throw new HandlerTimeoutError(this.queue, this.handlerTimeoutMs);
      }
    } catch (error) {
      await this.onHandlerFailure(channel, raw, error);
      return;
    }
    this.settle(channel, () => channel.ack(raw));
  }

  /** Parks a delivery that no service signed, untouched by any handler: no lookup, no read, no event. */
  private async parkForged(channel: Channel, raw: ConsumeMessage): Promise<void> {
    this.deps.logger.warn({ queue: this.queue, routingKey: raw.fields.routingKey }, 'parked a forged message');
    try {
      const properties = copyProperties(raw.properties);
      properties.headers = {
        ...(properties.headers as Record<string, unknown>),
        [HEADERS.error]: FORGED_REASON,
        [HEADERS.errorClass]: 'permanent',
        [HEADERS.originQueue]: this.queue,
        [HEADERS.parkedAt]: new Date().toISOString(),
        ...(raw.content.length > DEFAULT_MAX_PARKED_BODY_BYTES ? { [HEADERS.truncatedFrom]: raw.content.length } : {}),
      };
      const body = raw.content.subarray(0, DEFAULT_MAX_PARKED_BODY_BYTES);
      await this.deps.publisher.publishRaw(this.deps.parkedExchange ?? this.deadExchange, raw.fields.routingKey, body, properties);
    } catch (publishError) {
      this.deps.logger.error({ queue: this.queue, publishError: describeError(publishError) }, 'cannot park a forged message; rejecting it');
      this.settle(channel, () => channel.nack(raw, false, false));
      return;
    }
    this.settle(channel, () => channel.ack(raw));
  }

  private trackStuck(running: Promise<void>): void {
    const tracked: Promise<void> = running
      .then(
        () => this.deps.logger.warn({ queue: this.queue }, 'a handler that had passed its deadline finished'),
        (error: unknown) => this.deps.logger.warn({ queue: this.queue, error: describeError(error) }, 'a handler that had passed its deadline failed'),
      )
      .finally(() => this.stuck.delete(tracked));
    this.stuck.add(tracked);
  }

  private async onHandlerFailure(channel: Channel, raw: ConsumeMessage, error: unknown): Promise<void> {
    const errorClass = classifyError(error);
    const fields = { queue: this.queue, routingKey: raw.fields.routingKey, ...subjectOf(raw), errorClass, error: describeError(error) };
    // The one line of a failed message. Bad input is expected and named by its reason, so it has no stack trace; an
    // unexpected failure keeps the stack that shows where it came from.
    const stack = errorClass === 'transient' && error instanceof Error ? error.stack : undefined;
    this.deps.logger.warn(stack === undefined ? fields : { ...fields, 'error.stack_trace': stack }, 'message handler failed');
    if (this.closedChannels.has(channel)) return; // the broker redelivers it; a dead-letter copy would be a duplicate
    if (this.failureMode === 'requeue') {
      await sleep(this.requeueDelayMs);
      this.settle(channel, () => channel.nack(raw, false, true));
      return;
    }
    try {
      const properties = copyProperties(raw.properties);
      properties.headers = this.withFailureHeaders(properties.headers as Record<string, unknown>, raw, error);
      await this.deps.publisher.publishRaw(this.deadExchange, raw.fields.routingKey, raw.content, properties);
    } catch (publishError) {
      // The queue's own x-dead-letter-exchange catches what we could not forward.
      this.deps.logger.error({ ...fields, publishError: describeError(publishError) }, 'cannot forward failed message to the dead exchange; rejecting it');
      this.settle(channel, () => channel.nack(raw, false, false));
      return;
    }
    this.settle(channel, () => channel.ack(raw));
  }

  private withFailureHeaders(headers: Record<string, unknown>, raw: ConsumeMessage, error: unknown): Record<string, unknown> {
    return {
      ...headers,
      [HEADERS.attempt]: failureCount(headers) + 1,
      [HEADERS.error]: describeError(error).slice(0, MAX_ERROR_HEADER_LENGTH),
      [HEADERS.errorClass]: classifyError(error),
      [HEADERS.originQueue]: this.queue,
      // Keep the first route: after a retry the routing key is `queue.<name>`, not the publisher's key.
      [HEADERS.originRoutingKey]: headerString(headers, HEADERS.originRoutingKey) ?? raw.fields.routingKey,
      [HEADERS.failedAt]: new Date().toISOString(),
    };
  }

  /** Acks/nacks only on a live channel; a dead channel's deliveries are redelivered by the broker. */
  private settle(channel: Channel, action: () => void): void {
    if (this.closedChannels.has(channel)) {
      this.deps.logger.info({ queue: this.queue }, 'channel closed before settling; the broker will redeliver');
      return;
    }
    try {
      action();
    } catch (error) {
      this.deps.logger.warn({ queue: this.queue, error: describeError(error) }, 'cannot settle delivery; the broker will redeliver');
    }
  }
}

/** What a failed message is about, for its log line: its messageId, and the task and channel its JSON body names. */
function subjectOf(raw: ConsumeMessage): Record<string, string> {
  const subject: Record<string, string> = {};
  const messageId: unknown = raw.properties.messageId;
  if (typeof messageId === 'string') subject.messageId = messageId;
  let body: unknown;
  try {
    body = JSON.parse(raw.content.toString('utf8'));
  } catch {
    return subject;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return subject;
  for (const field of ['taskId', 'channel'] as const) {
    const value: unknown = (body as Record<string, unknown>)[field];
    if (typeof value === 'string') subject[field] = value.slice(0, 200);
  }
  return subject;
}
