import { MESSAGING_DEFAULTS } from './defaults';
import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { ConnectionSource } from './connection-source';
import { describeError, NotConnectedError, PublishInterruptedError, PublishNackedError, UnroutableError } from './errors';
import { headerString } from './headers';
import type { MessagingLogger } from './logger';
import { HEADERS } from './names';
import { SIGNATURE_HEADER, type MessageSigner } from './signing';
import { setTimeout as sleep } from 'node:timers/promises';
import { settleWithin } from './timeout';

export interface PublishOptions {
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly messageId?: string;
  /** deliveryMode 2; default true. */
  readonly persistent?: boolean;
  /** Default: application/json for a JSON body, none for a Buffer. */
  readonly contentType?: string;
  readonly correlationId?: string;
  /** Seconds since the epoch (AMQP timestamp); default now. */
  readonly timestamp?: number;
  readonly type?: string;
  readonly appId?: string;
}

interface PendingPublish {
  readonly exchange: string;
  readonly routingKey: string;
  returned?: UnroutableError;
}

/** One confirm channel and the publishes waiting for its confirms. */
interface ConfirmChannelState {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  readonly pending: Map<string, PendingPublish>;
  closed: boolean;
  /** The broker closed this channel (an error of ours, e.g. a missing exchange), as opposed to losing the connection. */
  brokerClosed?: boolean;
  closeReason: string;
  /** Settles when the connection under this channel has closed. */
  readonly connectionGone: Promise<void>;
  /** Set while the socket's write buffer is full; publishes wait for 'drain'. */
  writable?: Promise<void>;
  /** The broker nacked a publish on this channel: new publishes use a fresh channel, and this one closes once drained. */
  retired?: boolean;
}

export interface PublisherOptions {
  /** How long a publish waits for a (re)connection. Default 10 s. */
  readonly connectTimeoutMs?: number;
  readonly logger: MessagingLogger;
  /** Signs every message published with publish() (copies forwarded with publishRaw keep the signature they had). */
  readonly signer?: MessageSigner;
}

/**
 * Publishes with confirms and `mandatory`: a publish resolves only once the broker has taken responsibility for the
 * message, and rejects when it was unroutable (UnroutableError), nacked, or lost with its channel.
 */
export class Publisher {
  private current?: { readonly connection: ChannelModel; readonly state: Promise<ConfirmChannelState> };
  private readonly connectTimeoutMs: number;
  private readonly logger: MessagingLogger;
  private readonly signer: MessageSigner | undefined;

  constructor(
    private readonly source: ConnectionSource,
    options: PublisherOptions,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? MESSAGING_DEFAULTS.reconnectWaitMs;
    this.logger = options.logger;
    this.signer = options.signer;
  }

  /** Publishes a Buffer as is, anything else as JSON. */
  async publish(exchange: string, routingKey: string, body: unknown, options: PublishOptions = {}): Promise<void> {
    const isBuffer = Buffer.isBuffer(body);
    const content = isBuffer ? body : encodeJson(body, exchange, routingKey);
    const contentType = options.contentType ?? (isBuffer ? undefined : 'application/json');
    const properties: Options.Publish = {
      persistent: options.persistent ?? true,
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
      headers: { ...options.headers, ...(this.signer ? { [SIGNATURE_HEADER]: this.signer.sign(routingKey, content) } : {}) },
    };
    if (contentType !== undefined) properties.contentType = contentType;
    if (options.messageId !== undefined) properties.messageId = options.messageId;
    if (options.correlationId !== undefined) properties.correlationId = options.correlationId;
    if (options.type !== undefined) properties.type = options.type;
    if (options.appId !== undefined) properties.appId = options.appId;
    await this.publishRaw(exchange, routingKey, content, properties);
  }

  /**
   * Publishes content with exactly these amqplib properties (used to forward copies of received messages). A publish
   * whose connection went away before its confirm is sent again once the manager has reconnected (to another node of
   * a cluster if need be): the broker may then hold it twice, which idempotent consumers absorb, but never not at all.
   */
  async publishRaw(exchange: string, routingKey: string, content: Buffer, properties: Options.Publish): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.publishOnce(exchange, routingKey, content, properties);
        return;
      } catch (error) {
        if (error instanceof PublishNackedError) {
          if (attempt >= MAX_PUBLISH_ATTEMPTS) throw error;
          this.logger.debug({ exchange, routingKey, attempt }, 'broker nacked the publish; publishing again on a new channel');
          await sleep(NACK_BACKOFF_MS * 2 ** (attempt - 1));
          continue;
        }
        if (!(error instanceof ConnectionLost)) throw error;
        if (attempt >= MAX_PUBLISH_ATTEMPTS) throw error.cause;
        // The manager learns of the loss from the same close; wait for it, so the retry gets the next connection.
        await settleWithin(error.connectionGone, this.connectTimeoutMs);
        this.logger.warn({ exchange, routingKey, attempt }, 'connection lost before the publish was confirmed; publishing again after the reconnect');
      }
    }
  }

  private async publishOnce(exchange: string, routingKey: string, content: Buffer, properties: Options.Publish): Promise<void> {
    let state: ConfirmChannelState;
    try {
      state = await this.confirmChannel();
    } catch (error) {
      if (error instanceof NotConnectedError) throw error;
      const gone = this.current === undefined ? Promise.resolve() : closeOf(this.current.connection);
      throw new ConnectionLost(new PublishInterruptedError(exchange, routingKey, `cannot open a confirm channel: ${describeError(error)}`), gone);
    }
    if (state.writable !== undefined) await state.writable;
    if (state.retired) return this.publishOnce(exchange, routingKey, content, properties);
    if (state.closed) throw interrupted(state, exchange, routingKey);
    const publishId = randomUUID();
    const pending: PendingPublish = { exchange, routingKey };
    const headers: unknown = properties.headers;
    const withId: Options.Publish = {
      ...properties,
      headers: { ...(headers as Record<string, unknown> | undefined), [HEADERS.publishId]: publishId },
      mandatory: true,
    };
    await new Promise<void>((resolve, reject) => {
      state.pending.set(publishId, pending);
      const onConfirm = (error: unknown): void => {
        state.pending.delete(publishId);
        closeWhenDrained(state);
        if (error === null || error === undefined) {
          if (pending.returned) reject(pending.returned);
          else resolve();
        } else if (isNack(error) && !state.closed) {
          // Seen after a cluster node died: a channel opened during the failover nacked every publish routed to a
          // quorum queue for minutes, while a fresh channel was acked at once. The message is not (fully) enqueued.
          if (!state.retired) this.logger.warn({ exchange, routingKey, pending: state.pending.size }, 'broker nacked a publish; its channel is retired and the publishes it refuses are sent again on a new one');
          state.retired = true;
          closeWhenDrained(state);
          reject(new PublishNackedError(exchange, routingKey));
        } else {
          // amqplib fails unconfirmed publishes from its own 'close' listener, before ours has marked the state.
          reject(interrupted(state, exchange, routingKey));
        }
      };
      try {
        const flushed = state.channel.publish(exchange, routingKey, content, withId, onConfirm);
        if (!flushed && state.writable === undefined) state.writable = this.waitForDrain(state);
      } catch (error) {
        state.pending.delete(publishId);
        const cause = new PublishInterruptedError(exchange, routingKey, describeError(error));
        reject(state.brokerClosed ? cause : new ConnectionLost(cause, state.connectionGone));
      }
    });
  }

  /** The confirm channel of the live connection, opened on first use after each (re)connect. */
  private async confirmChannel(): Promise<ConfirmChannelState> {
    const connection = await this.source.waitForConnection(this.connectTimeoutMs);
    const cached = this.current;
    if (cached !== undefined && cached.connection === connection) {
      const state = await cached.state.catch(() => undefined);
      if (state !== undefined && !state.closed && !state.retired) return state;
      // Another publish may have replaced the dead channel while we waited.
      if (this.current !== cached) return this.confirmChannel();
    }
    void closeOf(connection);
    if (cached !== undefined && cached.connection === connection) void cached.state.then(closeWhenDrained, () => undefined);
    const state = this.openConfirmChannel(connection);
    this.current = { connection, state };
    return state;
  }

  private async openConfirmChannel(connection: ChannelModel): Promise<ConfirmChannelState> {
    const channel = await connection.createConfirmChannel();
    const connectionGone = closeOf(connection);
    const state: ConfirmChannelState = { connection, channel, pending: new Map(), closed: false, closeReason: 'channel or connection closed', connectionGone };
    channel.on('return', (message: Message) => this.onReturn(state, message));
    channel.on('error', (error: unknown) => {
      state.brokerClosed = true;
      state.closeReason = `channel closed by the broker: ${describeError(error)}`;
      this.logger.warn({ error: describeError(error) }, 'publisher channel error');
    });
    channel.on('close', () => {
      state.closed = true;
    });
    return state;
  }

  /** basic.return arrives before the confirm of the same publish; remember it so the confirm rejects. */
  private onReturn(state: ConfirmChannelState, message: Message): void {
    const headers: unknown = message.properties.headers;
    const publishId = headerString((headers ?? {}) as Record<string, unknown>, HEADERS.publishId);
    const pending = publishId === undefined ? undefined : state.pending.get(publishId);
    const fields = message.fields as Message['fields'] & { replyText?: unknown };
    const replyText = typeof fields.replyText === 'string' ? fields.replyText : 'NO_ROUTE';
    if (pending === undefined) {
      this.logger.warn({ exchange: fields.exchange, routingKey: fields.routingKey }, 'returned message matches no pending publish');
      return;
    }
    pending.returned = new UnroutableError(pending.exchange, pending.routingKey, replyText);
  }

  private waitForDrain(state: ConfirmChannelState): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        state.channel.off('drain', done);
        state.channel.off('close', done);
        state.writable = undefined;
        resolve();
      };
      state.channel.on('drain', done);
      state.channel.on('close', done);
    });
  }
}

/** Each reconnect may take up to the publisher's connect timeout; a node list longer than this is unusual. */
const MAX_PUBLISH_ATTEMPTS = 5;
/** First pause before a nacked publish is sent again (doubling): a quorum queue's leader election takes seconds. */
const NACK_BACKOFF_MS = 250;

/** A retired channel closes once its last pending publish is settled (unless it is already closed). */
function closeWhenDrained(state: ConfirmChannelState): void {
  if (state.retired && !state.closed && state.pending.size === 0) void state.channel.close().catch(() => undefined);
}

/** A publish lost with its connection (not refused by the broker): worth sending again on the next connection. */
class ConnectionLost extends Error {
  constructor(
    override readonly cause: PublishInterruptedError,
    readonly connectionGone: Promise<unknown>,
  ) {
    super(cause.message);
  }
}

const closes = new WeakMap<ChannelModel, Promise<void>>();

/** Settles when the connection closes (watched from the first time the publisher used it). */
function closeOf(connection: ChannelModel): Promise<void> {
  let closed = closes.get(connection);
  if (closed === undefined) {
    closed = new Promise<void>((resolve) => connection.once('close', () => resolve()));
    closes.set(connection, closed);
  }
  return closed;
}

function interrupted(state: ConfirmChannelState, exchange: string, routingKey: string): Error {
  const error = new PublishInterruptedError(exchange, routingKey, state.closeReason);
  return state.brokerClosed ? error : new ConnectionLost(error, state.connectionGone);
}

/** amqplib reports a basic.nack as this exact error (and a lost channel as 'channel closed'). */
function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked';
}

function encodeJson(body: unknown, exchange: string, routingKey: string): Buffer {
  const text = JSON.stringify(body) as string | undefined;
  if (text === undefined) {
    throw new TypeError(`cannot publish to "${exchange}" with key "${routingKey}": body (${typeof body}) is not JSON-serializable`);
  }
  return Buffer.from(text, 'utf8');
}
