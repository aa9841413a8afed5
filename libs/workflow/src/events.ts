import { EXCHANGES, eventMessageId, eventRoutingKey, type SubpackEvent } from '@subpack/contracts';
import type { Publisher } from '@subpack/messaging';

/** Publishes an event with its deterministic messageId, so downstream consumers can drop redelivered duplicates. */
export async function publishEvent(publisher: Publisher, event: SubpackEvent, exchange: string = EXCHANGES.main): Promise<void> {
  await publisher.publish(exchange, eventRoutingKey(event.type), event, { messageId: eventMessageId(event) });
}

export function now(): string {
  return new Date().toISOString();
}
