import { MESSAGING_DEFAULTS } from './defaults';
import type { Channel, GetMessage } from 'amqplib';
import { createHash } from 'node:crypto';
import type { AmqpConnectionManager } from './connection-manager';
import { describeError } from './errors';
import { type AmqpHeaders, copyProperties, failureCount, headerString, readHeaders, withoutHeaders } from './headers';
import { TIER_ROUTING_HEADER } from '@subpack/contracts';
import { queueRoutingKey } from '@subpack/rules';
import { HEADERS } from './names';

export interface ParkedMessage {
  /** The messageId, or a digest of the body when the message has none. */
  readonly id: string;
  readonly body: Buffer;
  readonly headers: AmqpHeaders;
  readonly reason: string;
  /** Failures recorded before parking. */
  readonly attempt: number;
  readonly originQueue: string | undefined;
  readonly originRoutingKey: string | undefined;
  readonly parkedAt: string | undefined;
}

export type ReplaySelection = { readonly ids: readonly string[] } | { readonly all: true };

export interface ReplayResult {
  readonly replayed: readonly string[];
  /** Left in the parking lot, with why. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/** Headers that describe a past failure; removed on replay so the message starts over at attempt 1. */
const FAILURE_HEADERS: readonly string[] = [
  HEADERS.attempt,
  HEADERS.error,
  HEADERS.errorClass,
  HEADERS.tier,
  TIER_ROUTING_HEADER,
  HEADERS.parkedAt,
  HEADERS.failedAt,
];

/** Inspect, replay and purge the parking-lot queue. Each call uses its own short-lived channel. */
export class ParkingLot {
  constructor(
    private readonly manager: AmqpConnectionManager,
    private readonly options: { readonly connectTimeoutMs?: number } = {},
  ) {}

  /** Peeks at up to `limit` parked messages: basic.get without ack, then everything goes back. */
  async listParked(limit: number = MESSAGING_DEFAULTS.parkedListLimit): Promise<ParkedMessage[]> {
    return this.withChannel(async (channel) => {
      const messages = await this.getMessages(channel, limit);
      if (messages.length > 0) channel.nackAll(true);
      return messages.map(toParkedMessage);
    });
  }

  /**
   * Republishes the selected messages to their origin queue (attempt reset); each is acked after its confirm. `gate`,
   * asked for each selected message before it is sent, may keep it parked by returning why.
   */
  async replayParked(selection: ReplaySelection, options: { readonly gate?: (message: ParkedMessage) => Promise<string | undefined> } = {}): Promise<ReplayResult> {
    const wanted = 'ids' in selection ? new Set(selection.ids) : undefined;
    return this.withChannel(async (channel) => {
      const replayed: string[] = [];
      const skipped: { id: string; reason: string }[] = [];
      const keep: GetMessage[] = [];
      for (const raw of await this.getMessages(channel, Number.POSITIVE_INFINITY)) {
        const parked = toParkedMessage(raw);
        if (wanted !== undefined && !wanted.has(parked.id)) {
          keep.push(raw);
          continue;
        }
        if (parked.originQueue === undefined) {
          skipped.push({ id: parked.id, reason: 'origin queue unknown' });
          keep.push(raw);
          continue;
        }
        if (parked.headers[HEADERS.truncatedFrom] !== undefined) {
          skipped.push({ id: parked.id, reason: `body was cut when parked (${String(parked.headers[HEADERS.truncatedFrom])} bytes); resend the original instead` });
          keep.push(raw);
          continue;
        }
        try {
          const kept = await options.gate?.(parked);
          if (kept !== undefined) {
            skipped.push({ id: parked.id, reason: kept });
            keep.push(raw);
            continue;
          }
          await this.republish(raw, parked.originQueue);
          channel.ack(raw);
          replayed.push(parked.id);
        } catch (error) {
          skipped.push({ id: parked.id, reason: describeError(error) });
          keep.push(raw);
        }
      }
      for (const raw of keep) channel.nack(raw, false, true);
      return { replayed, skipped };
    });
  }

  /** Deletes every parked message; returns how many there were. */
  async purgeParked(): Promise<number> {
    return this.withChannel(async (channel) => (await channel.purgeQueue(this.manager.names.parkedQueue)).messageCount);
  }

  private async republish(raw: GetMessage, originQueue: string): Promise<void> {
    const properties = copyProperties(raw.properties);
    properties.headers = withoutHeaders(properties.headers as AmqpHeaders, FAILURE_HEADERS);
    await this.manager.publisher.publishRaw(this.manager.names.exchange, queueRoutingKey(originQueue), raw.content, properties);
  }

  /** Gets (unacked) until the queue is empty or `limit` is reached. */
  private async getMessages(channel: Channel, limit: number): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    while (messages.length < limit) {
      const message = await channel.get(this.manager.names.parkedQueue, { noAck: false });
      if (message === false) break;
      messages.push(message);
    }
    return messages;
  }

  /** Closing the channel also returns any message a failure left unacked. */
  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const connection = await this.manager.waitForConnection(this.options.connectTimeoutMs ?? MESSAGING_DEFAULTS.reconnectWaitMs);
    const channel = await connection.createChannel();
    let failure: unknown;
    channel.on('error', (error: unknown) => {
      failure = error;
    });
    try {
      return await work(channel);
    } catch (error) {
      throw new Error(`parking lot "${this.manager.names.parkedQueue}": ${describeError(failure ?? error)}`, { cause: error });
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}

function toParkedMessage(raw: GetMessage): ParkedMessage {
  const headers = readHeaders(raw.properties);
  const messageId: unknown = raw.properties.messageId;
  return {
    id: typeof messageId === 'string' && messageId !== '' ? messageId : `sha256:${createHash('sha256').update(raw.content).digest('hex').slice(0, 16)}`,
    body: raw.content,
    headers,
    reason: headerString(headers, HEADERS.error) ?? 'unknown',
    attempt: failureCount(headers),
    originQueue: headerString(headers, HEADERS.originQueue) ?? headerString(headers, 'x-first-death-queue'),
    originRoutingKey: headerString(headers, HEADERS.originRoutingKey),
    parkedAt: headerString(headers, HEADERS.parkedAt),
  };
}
