import { eventMessageId, type SubpackEvent } from '@subpack/contracts';
import { eventRoutingKey, EXCHANGES } from '@subpack/rules';
import type { Publisher } from './publisher';

/** Publishes an event with its deterministic messageId, so downstream consumers can drop redelivered duplicates. */
export async function publishEvent(publisher: Publisher, event: SubpackEvent, exchange: string = EXCHANGES.main): Promise<void> {
  await publisher.publish(exchange, eventRoutingKey(event.type), event, { messageId: eventMessageId(event) });
}
