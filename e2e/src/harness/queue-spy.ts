import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { CONNECT_OPTIONS } from './broker';
import { atMost, delay, waitFor } from './wait';

export interface SpiedMessage {
  routingKey: string;
  exchange: string;
  headers: Record<string, unknown>;
  messageId: string | undefined;
  body: Buffer;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
  /** Local clock (ms) when the spy received the message. */
  receivedAt: number;
}

export interface SpyBinding {
  exchange: string;
  routingKey?: string;
  /** Binding arguments, e.g. { 'x-match': 'all' } on a headers exchange to receive every message. */
  arguments?: Record<string, unknown>;
}

/**
 * A queue of our own bound next to the services' queues, recording a copy of everything routed to it. The queue is
 * durable and the spy reconnects, so it keeps recording across a broker restart. Declare it BEFORE publishing.
 */
export class QueueSpy {
  readonly messages: SpiedMessage[] = [];
  private connection: ChannelModel | undefined;
  private closed = false;
  private reconnects = 0;

  private next = 0;

  private constructor(
    private readonly amqpUrls: readonly string[],
    readonly queue: string,
    private readonly binding: SpyBinding,
  ) {}

  /**
   * Given the nodes of a cluster, the spy's queue is a quorum queue and the spy reconnects to the next node that
   * answers, so it keeps recording while any one node is down.
   */
  static async open(amqpUrls: string | readonly string[], name: string, binding: SpyBinding): Promise<QueueSpy> {
    const urls = typeof amqpUrls === 'string' ? [amqpUrls] : amqpUrls;
    const spy = new QueueSpy(urls, `e2e.spy.${name}.${randomBytes(3).toString('hex')}`, binding);
    await spy.attach();
    return spy;
  }

  private async attach(): Promise<void> {
    const url = this.amqpUrls[this.next % this.amqpUrls.length]!;
    this.next += 1;
    const connection = await connect(url, CONNECT_OPTIONS);
    this.connection = connection;
    connection.on('error', () => undefined);
    connection.on('close', () => {
      if (!this.closed) void this.reattach();
    });
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    // The exchange must already exist: the services declare the topology; checking it catches a wrong vhost early.
    await channel.checkExchange(this.binding.exchange);
    await channel.assertQueue(this.queue, { durable: true, ...(this.amqpUrls.length > 1 ? { arguments: { 'x-queue-type': 'quorum' } } : {}) });
    await channel.bindQueue(this.queue, this.binding.exchange, this.binding.routingKey ?? '', this.binding.arguments);
    await channel.prefetch(200);
    await channel.consume(this.queue, (message) => {
      if (!message) return;
      this.record(message);
      channel.ack(message);
    });
  }

  private async reattach(): Promise<void> {
    while (!this.closed) {
      await delay(500);
      try {
        await this.attach();
        this.reconnects++;
        return;
      } catch {
        // broker still down: try again
      }
    }
  }

  private record(message: ConsumeMessage): void {
    const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined;
    // A redelivery to the spy itself (its ack was lost in a reconnect) is not a second publish by the services.
    if (message.fields.redelivered && this.messages.some((m) => m.messageId === messageId && m.body.equals(message.content))) {
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(message.content.toString('utf8'));
    } catch {
      json = undefined;
    }
    this.messages.push({
      routingKey: message.fields.routingKey,
      exchange: message.fields.exchange,
      headers: message.properties.headers ?? {},
      messageId,
      body: message.content,
      json,
      receivedAt: Date.now(),
    });
  }

  get reconnectCount(): number {
    return this.reconnects;
  }

  async waitFor(what: string, condition: (messages: readonly SpiedMessage[]) => boolean, timeoutMs: number, detail?: () => string): Promise<void> {
    await waitFor(what, () => condition(this.messages), { timeoutMs, intervalMs: 50, ...(detail ? { detail } : {}) });
  }

  /** Stops consuming and deletes the spy's queue (the vhost deletion would remove it too). */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    if (!connection) return;
    const deleteQueue = async (): Promise<void> => {
      const channel = await connection.createChannel();
      await channel.deleteQueue(this.queue);
    };
    // The vhost cleanup removes the queue anyway: a dead connection must not hold the cleanup up.
    await atMost(5000, deleteQueue().catch(() => undefined));
    await connection.close().catch(() => undefined);
  }
}

/** A header as text ('' when absent); AMQP long strings may arrive as Buffers. */
export function headerText(message: SpiedMessage, name: string): string {
  const value = message.headers[name];
  if (value === undefined || value === null) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A numeric header (NaN when absent or not a number). */
export function headerNumber(message: SpiedMessage, name: string): number {
  const text = headerText(message, name);
  return text === '' ? NaN : Number(text);
}
