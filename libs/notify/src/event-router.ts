import { validateEvent, type NotifyDelivery, type SubpackEvent } from '@subpack/contracts';
import { PermanentError, type Publisher } from '@subpack/messaging';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import type { SubscriptionBook } from './subscription-book';
import { Batcher, deliveryIdFor, type BatchPolicy } from './batcher';
import { isBatched, isDelivered } from './levels';
import { type SubscriptionTarget } from './subscriptions';

interface Batched {
  readonly event: SubpackEvent;
  readonly target: SubscriptionTarget;
}

/**
 * Turns each event into deliveries: one per subscription whose level and format want it. Channel events are batched per
 * task and subscription. An event is done (and may be acked) only once every delivery it belongs to is published and
 * confirmed, so events waiting in a batch stay unacked and come back after a crash.
 */
export class EventRouter {
  private readonly batcher: Batcher<Batched>;

  constructor(
    private readonly deps: { readonly publisher: Publisher; readonly subscriptions: SubscriptionBook; readonly exchange?: string },
    policy: BatchPolicy,
  ) {
    this.batcher = new Batcher<Batched>(policy, (_key, items) => this.publish(items));
  }

  /** Events waiting in unsent batches. */
  get batchedEvents(): number {
    return this.batcher.size;
  }

  /** Returns how many subscriptions the event goes to. */
  async route(body: unknown): Promise<number> {
    const checked = validateEvent(body);
    if (!checked.ok) throw new PermanentError(`invalid event: ${checked.errors.join('; ')}`);
    const event = checked.value;
    const targets = (await this.deps.subscriptions.forTask(event.taskId))
      .map((subscription) => subscription.target)
      .filter((target) => isDelivered(event.type, target));
    await Promise.all(targets.map((target) => this.routeTo(event, target)));
    return targets.length;
  }

  private async routeTo(event: SubpackEvent, target: SubscriptionTarget): Promise<void> {
    const key = `${event.taskId}\0${target.source}:${target.key}`;
    if (isBatched(event.type)) {
      await this.batcher.add(key, { event, target });
      return;
    }
    // The task's outcome comes after the channel events still waiting for it.
    await this.batcher.flushKey(key);
    await this.publish([{ event, target }]);
  }

  private async publish(items: readonly Batched[]): Promise<void> {
    const [first] = items;
    if (first === undefined) return;
    const events = items.map((item) => item.event);
    const delivery: NotifyDelivery = {
      deliveryId: deliveryIdFor(events, first.target.key),
      taskId: first.event.taskId,
      subscription: { source: first.target.source, key: first.target.key },
      events,
    };
    await this.deps.publisher.publish(this.deps.exchange ?? EXCHANGES.main, ROUTING_KEYS.notifyDelivery, delivery, { messageId: delivery.deliveryId });
  }
}
