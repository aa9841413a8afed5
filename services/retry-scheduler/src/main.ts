import { Module, type DynamicModule } from '@nestjs/common';
import { Counter } from 'prom-client';
import { int } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { DEFAULT_MAX_PARKED_BODY_BYTES, HEADERS, headerString, RetryScheduler, type IncomingMessage } from '@subpack/messaging';
import { accountParked, announceRetry } from '@subpack/workflow';

@Module({})
class RetrySchedulerModule {}

void runService({
  name: 'retry-scheduler',
  config: {
    prefetch: int('SUBPACK_PREFETCH', 10, 1, 1000),
    maxParkedBodyBytes: int('SUBPACK_MAX_PARKED_BODY_BYTES', DEFAULT_MAX_PARKED_BODY_BYTES, 1024, 512 * 1024 * 1024),
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
      onRetry: async (message, retry) => {
        const announced = await announceRetry(ctx.manager.publisher, {
          routingKey: originRoutingKey(message),
          body: jsonOrNull(message),
          attempt: retry.attempt,
          tier: retry.tier,
          reason: retry.reason,
        });
        if (announced) ctx.logger.info({ taskId: announced.taskId, route: announced.route, attempt: announced.attempt }, 'retry announced');
      },
      maxParkedBodyBytes: ctx.config.maxParkedBodyBytes,
      onParked: async (message, reason) => {
        const routingKey = originRoutingKey(message);
        parked.inc({ routing_key: routingKey });
        const body = jsonOrNull(message);
        ctx.logger.warn({ routingKey, reason, taskId: (body as { taskId?: unknown } | null)?.taskId }, 'message parked');
        await accountParked(ctx.store, ctx.manager.publisher, ctx.owner, { routingKey, body, reason });
      },
    });
    await scheduler.start();
  },
});

function originRoutingKey(message: IncomingMessage): string {
  return headerString(message.headers, HEADERS.originRoutingKey) ?? message.routingKey;
}

/** Unparseable bodies are retried or parked as they are; there is no task to account them to. */
function jsonOrNull(message: IncomingMessage): unknown {
  try {
    return message.json();
  } catch {
    return null;
  }
}
