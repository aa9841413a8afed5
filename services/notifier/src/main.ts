import { Module, type DynamicModule } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { STANDARD_WEBHOOKS_SECRET_PATTERN, validateNotifySubscriptions, type NotifySubscription } from '@subpack/contracts';
import { QUEUES } from '@subpack/rules';
import { ALLOWLIST_FIELD, DeliverySender, EventRouter, SubscriptionBook, resolveSubscription, type DeliveryReport, type SecretBook } from '@subpack/notify';
import { int, type Field } from '@subpack/config';
import { runService } from '@subpack/runtime';
import { RateWindow } from '@subpack/state';
import { DELIVERY_SENDER, EVENT_ROUTER, NotifierController } from './notifier.controller';

/** Named secrets: SUBPACK_NOTIFY_SECRET_<name>, referenced by subscriptions as secretRef <name>. */
const SECRET_ENV_PREFIX = 'SUBPACK_NOTIFY_SECRET_';
/** DingTalk allows 20 messages a minute per robot; stay below it. */
const ROBOT_LIMIT_PER_MINUTE = 18;

@Module({})
class NotifierModule {}

void runService({
  name: 'notifier',
  config: {
    allowlist: ALLOWLIST_FIELD,
    globalSubscriptions: subscriptions('SUBPACK_NOTIFY_SUBSCRIPTIONS'),
    defaultSecret: webhookSecret('SUBPACK_NOTIFY_DEFAULT_SECRET'),
    batchMax: int('SUBPACK_NOTIFY_BATCH_MAX', 100, 1, 1000),
    batchWindowMs: int('SUBPACK_NOTIFY_BATCH_WINDOW_MS', 2000, 0, 60_000),
    timeoutMs: int('SUBPACK_NOTIFY_TIMEOUT_MS', 10_000, 100, 120_000),
    maxResponseBytes: int('SUBPACK_NOTIFY_MAX_RESPONSE_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    robotPerMinute: int('SUBPACK_NOTIFY_ROBOT_PER_MINUTE', ROBOT_LIMIT_PER_MINUTE, 1, 20),
    eventsPrefetch: int('SUBPACK_NOTIFY_EVENTS_PREFETCH', 250, 1, 5000),
    prefetch: int('SUBPACK_PREFETCH', 8, 1, 1000),
  },
  module(ctx): DynamicModule {
    const { config, registry } = ctx;
    const secrets = secretBook(config.defaultSecret);
    const book = new SubscriptionBook(ctx.store, config.globalSubscriptions);
    if (config.allowlist.size === 0) ctx.logger.warn({}, 'SUBPACK_NOTIFY_ALLOWED_HOSTS is empty: every webhook will be refused');
    const router = new EventRouter({ publisher: ctx.manager.publisher, subscriptions: book }, { maxEvents: config.batchMax, windowMs: config.batchWindowMs });
    const deliveries = new Counter({ name: 'subpack_notify_deliveries_total', help: 'Webhook delivery attempts by outcome', labelNames: ['format', 'outcome'], registers: [registry] });
    const parked = new Counter({ name: 'subpack_notify_parked_total', help: 'Deliveries given up (parked with notify.failed)', labelNames: ['format'], registers: [registry] });
    const latency = new Histogram({ name: 'subpack_notify_delivery_seconds', help: 'Webhook request latency', labelNames: ['format'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
    new Gauge({ name: 'subpack_notify_batched_events', help: 'Events waiting in unsent batches', registers: [registry], collect() { this.set(router.batchedEvents); } });
    const report = (delivery: DeliveryReport): void => {
      deliveries.inc({ format: delivery.format, outcome: delivery.outcome });
      if (delivery.seconds !== undefined) latency.observe({ format: delivery.format }, delivery.seconds);
      const fields = { taskId: delivery.taskId, 'event.id': delivery.deliveryId, 'event.outcome': delivery.outcome, subscription: delivery.subscription, events: delivery.events, reason: delivery.reason };
      if (delivery.outcome === 'delivered') {
        ctx.logger.info(fields, 'webhook delivered');
      } else if (delivery.outcome === 'retried') {
        ctx.logger.warn(fields, 'webhook delivery failed; retrying');
      } else {
        parked.inc({ format: delivery.format });
        ctx.logger.error(fields, 'webhook delivery given up');
      }
    };
    const sender = new DeliverySender({
      publisher: ctx.manager.publisher,
      store: ctx.store,
      subscriptions: book,
      secrets,
      send: { allowlist: config.allowlist, timeoutMs: config.timeoutMs, maxResponseBytes: config.maxResponseBytes },
      robotWindow: new RateWindow(ctx.redis, { keyPrefix: `${config.redisPrefix}notify:`, limit: config.robotPerMinute, windowMs: 60_000 }),
      maxAttempts: config.maxAttempts,
      report,
    });
    return {
      module: NotifierModule,
      controllers: [NotifierController],
      providers: [
        { provide: EVENT_ROUTER, useValue: router },
        { provide: DELIVERY_SENDER, useValue: sender },
      ],
    };
  },
  prefetch: (ctx) => ({ [QUEUES.notifierEvents]: ctx.config.eventsPrefetch, [QUEUES.notifierDeliveries]: ctx.config.prefetch }),
});

function subscriptions(env: string): Field<NotifySubscription[]> {
  return {
    env,
    describe: 'a JSON list of subscriptions ({ url, level, format, secret | secretRef })',
    secret: true,
    parse: (raw) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Error('is not valid JSON');
      }
      const result = validateNotifySubscriptions(parsed, env);
      if (!result.ok) throw new Error(result.errors.join('; '));
      // A configured subscription whose secretRef is missing is a deployment error: refuse to start.
      const secrets = secretBook(undefined);
      const problems = result.value.flatMap((subscription, index) => {
        try {
          resolveSubscription('global', subscription, secrets);
          return [];
        } catch (error) {
          return [`${env}[${index}]: ${error instanceof Error ? error.message : String(error)}`];
        }
      });
      if (problems.length > 0) throw new Error(problems.join('; '));
      return result.value;
    },
    default: [],
  };
}

function webhookSecret(env: string): Field<string | undefined> {
  return {
    env,
    describe: 'a Standard Webhooks secret (whsec_<base64>)',
    secret: true,
    optional: true,
    parse: (raw) => {
      if (!new RegExp(STANDARD_WEBHOOKS_SECRET_PATTERN).test(raw)) throw new Error('must be whsec_ followed by base64');
      return raw;
    },
  };
}

function secretBook(defaultJsonSecret: string | undefined): SecretBook {
  const named = new Map<string, string>();
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith(SECRET_ENV_PREFIX) && value !== undefined && value !== '') named.set(name.slice(SECRET_ENV_PREFIX.length), value);
  }
  return { named, ...(defaultJsonSecret !== undefined ? { defaultJsonSecret } : {}) };
}
