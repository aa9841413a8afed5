import { MessageSigner, SIGNATURE_HEADER } from '@subpack/messaging';
import { E2E_INTERNAL_KEY } from './service-process';
import { connect, type Channel, type ConfirmChannel, type GetMessage, type Options } from 'amqplib';
import { createVhost as createTestVhost, deleteVhost, type Vhost } from '@subpack/testing';
import { runChecked } from './command';
import { BROKER_URL } from './paths';

/** A broker that does not answer fails the connect instead of hanging the test. */
export const CONNECT_OPTIONS = { timeout: 10_000 };

/** rabbitmqctl starts an Erlang VM per call (~1 s); a slow broker gets a generous timeout. */
export function rabbitmqctl(args: readonly string[], timeoutMs = 90_000, input?: string): Promise<string> {
  return runChecked('rabbitmqctl', args, { timeoutMs, ...(input !== undefined ? { input } : {}) }).then((r) => r.stdout);
}

export type { Vhost };

/** A fresh vhost for one test file, so its topology cannot collide with anyone else's. */
export function createVhost(label: string): Promise<Vhost> {
  return createTestVhost(BROKER_URL, `e2e-${label}`);
}

export { deleteVhost };

/** Opens a connection and a channel for one piece of work, and always closes them. */
export async function withChannel<T>(amqpUrl: string, work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(amqpUrl, CONNECT_OPTIONS);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function queueMessageCount(amqpUrl: string, queue: string): Promise<number> {
  return withChannel(amqpUrl, async (channel) => (await channel.checkQueue(queue)).messageCount);
}

/**
 * Reads every ready message of `queue` without consuming it: the messages are fetched unacked and return to the
 * queue when the channel closes (marked redelivered, order kept).
 */
export async function peekQueue(amqpUrl: string, queue: string): Promise<GetMessage[]> {
  return withChannel(amqpUrl, async (channel) => {
    const messages: GetMessage[] = [];
    while (true) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) return messages;
      messages.push(message);
    }
  });
}

export interface PublishOptions {
  exchange?: string;
  routingKey?: string;
  contentType?: string;
  messageId?: string;
  headers?: Record<string, unknown>;
}

/**
 * Publishes like an outside publisher would, with nothing but amqplib: persistent, mandatory, on a confirm channel.
 * Rejects when the broker returns the message as unroutable or nacks it.
 */
export async function publishRaw(amqpUrl: string, body: Buffer, opts: PublishOptions = {}): Promise<void> {
  const exchange = opts.exchange ?? 'subpack';
  const routingKey = opts.routingKey ?? 'task.pack';
  const connection = await connect(amqpUrl, CONNECT_OPTIONS);
  connection.on('error', () => undefined);
  try {
    const channel: ConfirmChannel = await connection.createConfirmChannel();
    let returned = false;
    channel.on('return', () => (returned = true));
    const properties: Options.Publish = {
      persistent: true,
      mandatory: true,
      contentType: opts.contentType ?? 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      ...(opts.messageId !== undefined ? { messageId: opts.messageId } : {}),
      ...(opts.headers !== undefined ? { headers: opts.headers } : {}),
    };
    channel.publish(exchange, routingKey, body, properties);
    await channel.waitForConfirms();
    // basic.return precedes the confirm of a mandatory message, so `returned` is settled here.
    if (returned) throw new Error(`broker returned the message published to ${exchange} with ${routingKey}: no queue is bound`);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export function publishJson(amqpUrl: string, body: unknown, opts: PublishOptions = {}): Promise<void> {
  return publishRaw(amqpUrl, Buffer.from(JSON.stringify(body)), opts);
}

/** Publishes many JSON messages on one confirm channel (an outside publisher's burst), waiting for every confirm. */
export async function publishManyJson(amqpUrl: string, messages: readonly { routingKey: string; body: unknown; messageId?: string }[]): Promise<void> {
  const connection = await connect(amqpUrl, CONNECT_OPTIONS);
  connection.on('error', () => undefined);
  try {
    const channel: ConfirmChannel = await connection.createConfirmChannel();
    for (const message of messages) {
      channel.publish('subpack', message.routingKey, Buffer.from(JSON.stringify(message.body)), {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        ...(message.messageId !== undefined ? { messageId: message.messageId } : {}),
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Headers that sign `body` under `routingKey` with `key` (the e2e services' key unless given): what an insider can send. */
export function internalSignature(routingKey: string, body: unknown, key: string = E2E_INTERNAL_KEY): Record<string, string> {
  return { [SIGNATURE_HEADER]: new MessageSigner(key).sign(routingKey, Buffer.from(JSON.stringify(body))) };
}
