import { Module, type DynamicModule } from '@nestjs/common';
import { Counter } from 'prom-client';
import { int } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { RetryScheduler } from '@subpack/messaging';
import { accountParked } from '@subpack/workflow';

@Module({})
class RetrySchedulerModule {}

void runService({
  name: 'retry-scheduler',
  config: {
    maxAttempts: int('SUBPACK_MAX_ATTEMPTS', 5, 1, 100),
    prefetch: int('SUBPACK_PREFETCH', 10, 1, 1000),
  },
  module(): DynamicModule {
    return { module: RetrySchedulerModule };
  },
  prefetch: () => ({}),
  async afterStart(ctx) {
    const parked = new Counter({ name: 'subpack_parked_total', help: 'Messages parked', labelNames: ['routing_key'], registers: [ctx.registry] });
    const scheduler = new RetryScheduler(ctx.manager, {
      policy: { tiers: ctx.config.retryTiers, maxAttempts: ctx.config.maxAttempts },
      prefetch: ctx.config.prefetch,
      onParked: async (message, reason) => {
        const routingKey = typeof message.headers['x-subpack-origin-routing-key'] === 'string' ? message.headers['x-subpack-origin-routing-key'] : message.routingKey;
        parked.inc({ routing_key: routingKey });
        let body: unknown = null;
        try {
          body = message.json();
        } catch {
          // unparseable bodies are parked as they are; there is no task to account them to
        }
        ctx.logger.warn({ routingKey, reason, taskId: (body as { taskId?: unknown } | null)?.taskId }, 'message parked');
        await accountParked(ctx.store, ctx.manager.publisher, ctx.owner, { routingKey, body, reason });
      },
    });
    await scheduler.start();
  },
});
