import type { Message } from 'amqplib';
import { describeError, PermanentError } from './errors';
import { type AmqpHeaders, failureCount, readHeaders } from './headers';

/** What a handler sees of one delivery. */
export interface IncomingMessage {
  readonly body: Buffer;
  /** The body parsed as JSON; throws a PermanentError naming the problem when it is not JSON. */
  json(): unknown;
  readonly headers: AmqpHeaders;
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string | undefined;
  readonly queue: string;
  /** Delivery attempt, 1-based: 1 + the failures recorded in `x-subpack-attempt`. */
  readonly attempt: number;
  /** The broker delivered this before (e.g. after a reconnect): the work may already be done. */
  readonly redelivered: boolean;
  /** The raw amqplib message (for its properties). */
  readonly raw: Message;
}

export function toIncomingMessage(queue: string, raw: Message): IncomingMessage {
  const headers = readHeaders(raw.properties);
  const messageIdValue: unknown = raw.properties.messageId;
  const messageId = typeof messageIdValue === 'string' ? messageIdValue : undefined;
  let parsed: { value: unknown } | undefined;
  return {
    body: raw.content,
    json(): unknown {
      if (parsed === undefined) parsed = { value: parseJsonBody(raw.content, queue, messageId) };
      return parsed.value;
    },
    headers,
    exchange: raw.fields.exchange,
    routingKey: raw.fields.routingKey,
    messageId,
    queue,
    attempt: failureCount(headers) + 1,
    redelivered: raw.fields.redelivered,
    raw,
  };
}

function parseJsonBody(body: Buffer, queue: string, messageId: string | undefined): unknown {
  const where = `message${messageId === undefined ? '' : ` "${messageId}"`} on queue "${queue}"`;
  if (body.length === 0) throw new PermanentError(`${where} has an empty body; expected JSON`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    const preview = body.subarray(0, 40).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
    throw new PermanentError(`${where} is not valid JSON (${describeError(error)}); body starts with "${preview}"`, { cause: error });
  }
}
