import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { AmqpContext } from '@subpack/messaging';
import { QUEUES } from '@subpack/rules';
import { LOGGER, type Logger } from '@subpack/runtime';
import type { DeliverySender, EventRouter } from '@subpack/notify';

export const EVENT_ROUTER = Symbol('EVENT_ROUTER');
export const DELIVERY_SENDER = Symbol('DELIVERY_SENDER');

@Controller()
export class NotifierController {
  constructor(
    @Inject(EVENT_ROUTER) private readonly router: EventRouter,
    @Inject(DELIVERY_SENDER) private readonly sender: DeliverySender,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(QUEUES.notifierEvents)
  async onEvent(@Payload() body: unknown): Promise<void> {
    const event = body as { type?: unknown; taskId?: unknown } | null;
    // A failure is logged once, by the consumer, with the task it concerns.
    const subscriptions = await this.router.route(body);
    this.logger.debug({ taskId: event?.taskId, 'event.action': event?.type, subscriptions }, 'event routed');
  }

  @EventPattern(QUEUES.notifierDeliveries)
  async onDelivery(@Payload() body: unknown, @Ctx() context: AmqpContext): Promise<void> {
    await this.sender.deliver(body, context.getMessage().attempt);
  }
}
