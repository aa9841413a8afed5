import type { MessageProperties, Options } from 'amqplib';
import { BROKER_DEATH_HEADERS, HEADERS } from './names';

/** AMQP headers as decoded by amqplib (values are strings, numbers, booleans, nested tables/arrays...). */
export type AmqpHeaders = Record<string, unknown>;

export function headerString(headers: AmqpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A non-negative integer header (publishers in other languages may send it as a string). */
export function headerCount(headers: AmqpHeaders, name: string): number | undefined {
  const raw = headers[name];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** Number of failures recorded so far (0 for a message that never failed). */
export function failureCount(headers: AmqpHeaders): number {
  return headerCount(headers, HEADERS.attempt) ?? 0;
}

export function withoutHeaders(headers: AmqpHeaders, names: readonly string[]): AmqpHeaders {
  const copy: AmqpHeaders = { ...headers };
  for (const name of names) delete copy[name];
  return copy;
}

/** Headers of a message we republish: without the broker's dead-lettering history or our publish correlation id. */
export function republishableHeaders(headers: AmqpHeaders): AmqpHeaders {
  return withoutHeaders(headers, [...BROKER_DEATH_HEADERS, HEADERS.publishId]);
}

/**
 * Publish options that reproduce a received message's properties.
 * Left out on purpose: `expiration` (a copy must not expire in the dead/parked queue), `userId` (the broker rejects a
 * user id that differs from the publishing connection's) and `clusterId` (deprecated).
 */
export function copyProperties(properties: MessageProperties): Options.Publish {
  const options: Options.Publish = {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const int = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const contentType = text(properties.contentType);
  if (contentType !== undefined) options.contentType = contentType;
  const contentEncoding = text(properties.contentEncoding);
  if (contentEncoding !== undefined) options.contentEncoding = contentEncoding;
  const deliveryMode = int(properties.deliveryMode);
  if (deliveryMode !== undefined) options.deliveryMode = deliveryMode;
  const priority = int(properties.priority);
  if (priority !== undefined) options.priority = priority;
  const correlationId = text(properties.correlationId);
  if (correlationId !== undefined) options.correlationId = correlationId;
  const replyTo = text(properties.replyTo);
  if (replyTo !== undefined) options.replyTo = replyTo;
  const messageId = text(properties.messageId);
  if (messageId !== undefined) options.messageId = messageId;
  const timestamp = int(properties.timestamp);
  if (timestamp !== undefined) options.timestamp = timestamp;
  const type = text(properties.type);
  if (type !== undefined) options.type = type;
  const appId = text(properties.appId);
  if (appId !== undefined) options.appId = appId;
  options.headers = republishableHeaders(readHeaders(properties));
  return options;
}

export function readHeaders(properties: MessageProperties): AmqpHeaders {
  const headers: unknown = properties.headers;
  return headers !== null && typeof headers === 'object' ? { ...(headers as AmqpHeaders) } : {};
}
