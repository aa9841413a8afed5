import { Module, type DynamicModule } from '@nestjs/common';
import { Counter } from 'prom-client';
import { int } from '@subpack/config';
import { runService, type ServiceContext } from '@subpack/runtime';
import { DEFAULT_MAX_PARKED_BODY_BYTES, describeError, DropReport, HEADERS, headerString, RetryScheduler, type IncomingMessage } from '@subpack/messaging';
import { accountParked, announceRetry, sweepStalls } from '@subpack/workflow';

@Module({})
class RetrySchedulerModule {}

void runService({
  name: 'retry-scheduler',
  config: {
    prefetch: int('SUBPACK_PREFETCH', 10, 1, 1000),
    maxParkedBodyBytes: int('SUBPACK_MAX_PARKED_BODY_BYTES', DEFAULT_MAX_PARKED_BODY_BYTES, 1024, 512 * 1024 * 1024),
    stallAfterMs: int('SUBPACK_STALL_AFTER_MS', 15 * 60_000, 1000, 7 * 24 * 3_600_000),
  },
  module(): DynamicModule {
    return { module: RetrySchedulerModule };
  },
  prefetch: () => ({}),
  async afterStart(ctx) {
    const parked = new Counter({ name: 'subpack_parked_total', help: 'Messages parked', labelNames: ['routing_key'], registers: [ctx.registry] });
    const dropped = new Counter({
      name: 'subpack_dropped_messages_total',
      help: 'Messages the broker dropped from a bounded work queue (subpack.notifier.events); reason maxlen: it was full, expired: older than its TTL',
      labelNames: ['queue', 'reason'],
      registers: [ctx.registry],
    });
    const drops = new DropReport(60_000, (summary) => {
      for (const { queue, reason, count } of summary) {
        ctx.logger.warn({ queue, reason, dropped: count }, `${count} message(s) dropped from ${queue} (${reason === 'maxlen' ? 'queue full' : 'expired'}): is its consumer running?`);
      }
    });
    const dropTimer = setInterval(() => drops.flush(Date.now()), 10_000);
    dropTimer.unref();
    const scheduler = new RetryScheduler(ctx.manager, {
      onDropped: (_message, drop) => {
        dropped.inc({ queue: drop.queue, reason: drop.reason });
        drops.note(drop, Date.now());
      },
      policy: { tiers: ctx.config.retryTiers, maxAttempts: ctx.config.maxAttempts },
      prefetch: ctx.config.prefetch,
      onRetry: async (message, retry) => {
        const body = jsonOrNull(message);
        const announced = await announceRetry(ctx.manager.publisher, {
          routingKey: originRoutingKey(message),
          body,
          attempt: retry.attempt,
          tier: retry.tier,
          reason: retry.reason,
          taskAttempt: await taskAttemptOf(ctx, body),
        });
        if (announced) ctx.logger.info({ taskId: announced.taskId, route: announced.route, attempt: announced.attempt }, 'retry announced');
      },
      maxParkedBodyBytes: ctx.config.maxParkedBodyBytes,
      onParked: async (message, reason) => {
        const routingKey = originRoutingKey(message);
        parked.inc({ routing_key: routingKey });
        const body = jsonOrNull(message);
        ctx.logger.warn({ routingKey, reason, taskId: (body as { taskId?: unknown } | null)?.taskId }, 'message parked');
        await accountParked(ctx.store, ctx.manager.publisher, ctx.owner, { routingKey, body, reason, attempt: message.attempt });
      },
    });
    await scheduler.start();
    const stopWatching = watchForStalls(ctx);
    return async () => {
      clearInterval(dropTimer);
      drops.flush(Number.POSITIVE_INFINITY);
      await stopWatching();
    };
  },
});

function originRoutingKey(message: IncomingMessage): string {
  return headerString(message.headers, HEADERS.originRoutingKey) ?? message.routingKey;
}

/** Which run of its task a message belongs to, for its retry.scheduled; unknown when it names no recorded task. */
async function taskAttemptOf(ctx: ServiceContext<object>, body: unknown): Promise<number | undefined> {
  const taskId = (body as { taskId?: unknown } | null)?.taskId;
  if (typeof taskId !== 'string') return undefined;
  try {
    return (await ctx.store.getTaskSummary(taskId))?.attempt;
  } catch {
    return undefined;
  }
}

/** Unparseable bodies are retried or parked as they are; there is no task to account them to. */
function jsonOrNull(message: IncomingMessage): unknown {
  try {
    return message.json();
  } catch {
    return null;
  }
}

/** Sweeps for stalled and lost tasks a few times per stall period (at most once a minute). */
function watchForStalls(ctx: ServiceContext<{ stallAfterMs: number }>): () => Promise<void> {
  const stalled = new Counter({ name: 'subpack_tasks_stalled_total', help: 'Running tasks reported stalled (no progress for SUBPACK_STALL_AFTER_MS)', registers: [ctx.registry] });
  const lost = new Counter({ name: 'subpack_tasks_state_lost_total', help: 'Running tasks whose Redis state disappeared', registers: [ctx.registry] });
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = async (): Promise<void> => {
    try {
      const result = await sweepStalls(ctx.store, ctx.manager.publisher, ctx.config.stallAfterMs);
      stalled.inc(result.stalled.length);
      lost.inc(result.lost.length);
      for (const taskId of result.stalled) ctx.logger.warn({ taskId, stallAfterMs: ctx.config.stallAfterMs }, 'task stalled: no progress');
      for (const taskId of result.lost) ctx.logger.error({ taskId }, 'task state lost from Redis while running');
    } catch (err) {
      ctx.logger.warn({ error: describeError(err) }, 'stall sweep failed; will try again');
    }
  };
  const timer = setInterval(() => {
    sweeping = sweeping.then(sweep);
  }, Math.min(60_000, Math.max(250, Math.floor(ctx.config.stallAfterMs / 4))));
  return async () => {
    clearInterval(timer);
    await sweeping;
  };
}
