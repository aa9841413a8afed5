import { Type, type Static } from '@sinclair/typebox';
import { TaskIdSchema } from './common';
import { noControlCharacters, rule, StringEnum } from './rules';

export const NOTIFY_LEVELS = ['info', 'warn', 'error'] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];
export const DEFAULT_NOTIFY_LEVEL = 'info' satisfies NotifyLevel;

export const NOTIFY_FORMATS = ['json', 'dingtalk', 'wecom', 'feishu'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];
export const DEFAULT_NOTIFY_FORMAT = 'json' satisfies NotifyFormat;

/** Subscriptions one task may name. */
export const MAX_TASK_SUBSCRIPTIONS = 16;

/** Standard Webhooks secret: `whsec_` and the base64 key. */
export const STANDARD_WEBHOOKS_SECRET_PATTERN = '^whsec_[A-Za-z0-9+/]+={0,2}$';

const WebhookUrlSchema = Type.String({
  format: 'uri',
  maxLength: 2048,
  allOf: [noControlCharacters, rule({ pattern: '^https?://' }, 'must be an http:// or https:// URL')],
  description: 'Webhook URL. Its host must be on the notifier\'s allowlist.',
  examples: ['https://hooks.example.com/subpack'],
});

const LevelSchema = StringEnum(NOTIFY_LEVELS, {
  description: 'Lowest level delivered: info (progress), warn (retries), error (failures).',
  default: DEFAULT_NOTIFY_LEVEL,
});

export const SecretRefSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  allOf: [rule({ pattern: '^[A-Za-z0-9_]+$' }, 'must contain only letters, digits and "_"')],
  description:
    'Name of a secret in the notifier\'s configuration (environment variable SUBPACK_NOTIFY_SECRET_<name>), for ' +
    'publishers that do not want a secret in the message.',
  examples: ['GAME_BACKEND'],
});

export const NotifySubscriptionSchema = Type.Object(
  {
    url: WebhookUrlSchema,
    level: Type.Optional(LevelSchema),
    format: Type.Optional(
      StringEnum(NOTIFY_FORMATS, {
        description:
          'json: Standard Webhooks signed JSON; dingtalk, wecom, feishu: markdown summaries for group robots.',
        default: DEFAULT_NOTIFY_FORMAT,
      }),
    ),
    secret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        allOf: [noControlCharacters],
        description:
          'Signing secret: whsec_<base64> for json, the robot\'s SEC... secret for dingtalk, the signing secret for ' +
          'feishu (wecom has none: the key is in the URL). It travels on the broker in the task; prefer secretRef.',
      }),
    ),
    secretRef: Type.Optional(SecretRefSchema),
  },
  {
    title: 'Notification subscription',
    description: 'One receiver of the task\'s events. secret and secretRef are mutually exclusive.',
    additionalProperties: false,
    examples: [{ url: 'https://hooks.example.com/subpack', level: 'warn', format: 'json', secretRef: 'GAME_BACKEND' }],
  },
);
export type NotifySubscription = Static<typeof NotifySubscriptionSchema>;

/** The first form of `notify`: one json webhook, signed with the notifier's default secret when one is configured. */
export const SingleWebhookNotifySchema = Type.Object(
  {
    webhook: Type.Optional(WebhookUrlSchema),
    level: Type.Optional(LevelSchema),
  },
  { title: 'Single webhook', additionalProperties: false },
);

export const NotifySchema = Type.Union(
  [
    Type.Array(NotifySubscriptionSchema, { minItems: 1, maxItems: MAX_TASK_SUBSCRIPTIONS, title: 'Subscriptions' }),
    SingleWebhookNotifySchema,
  ],
  {
    title: 'Notification settings',
    description:
      'Who hears about this task: a list of subscriptions, or the older single-webhook object ' +
      '{ webhook, level } (json format).',
  },
);
export type Notify = Static<typeof NotifySchema>;

/** Where the subscription of a delivery comes from: the task's `notify`, or the notifier's configuration. */
export const SUBSCRIPTION_SOURCES = ['task', 'global'] as const;
export type SubscriptionSource = (typeof SUBSCRIPTION_SOURCES)[number];

export const MAX_EVENTS_PER_DELIVERY = 1000;

export const NotifyDeliverySchema = Type.Object(
  {
    deliveryId: Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Stable id of this delivery; sent as webhook-id, unchanged on every retry.',
    }),
    taskId: TaskIdSchema,
    subscription: Type.Object(
      {
        source: StringEnum(SUBSCRIPTION_SOURCES, { description: 'task: from the task\'s notify; global: from configuration.' }),
        key: Type.String({
          minLength: 1,
          maxLength: 64,
          allOf: [rule({ pattern: '^[0-9a-f]+$' }, 'must be lowercase hex')],
          description: 'Digest of the subscription\'s url, format and level; its secret is looked up, never carried.',
        }),
      },
      { additionalProperties: false },
    ),
    events: Type.Array(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        properties: { type: { type: 'string' }, taskId: { type: 'string' }, at: { type: 'string' } },
        required: ['type', 'taskId', 'at'],
        description: 'A subpack event, as published on event.<type>.',
      }),
      { minItems: 1, maxItems: MAX_EVENTS_PER_DELIVERY, description: 'The events of this delivery, oldest first.' },
    ),
  },
  {
    title: 'NotifyDelivery',
    description:
      'One request to one subscription: a single event or a batch of channel events of one task. The notifier ' +
      'publishes these to itself (routing key notify.delivery), so a failed delivery is retried on its own through ' +
      'the retry tiers and never re-sent to subscriptions that already got it.',
    additionalProperties: false,
    examples: [
      {
        deliveryId: 'task.completed:release-2025-06-01.42:5f0c2a9d1e7b4c3a',
        taskId: 'release-2025-06-01.42',
        subscription: { source: 'task', key: '5f0c2a9d1e7b4c3a' },
        events: [
          {
            type: 'task.completed',
            taskId: 'release-2025-06-01.42',
            status: 'done',
            total: 2,
            done: 2,
            failed: 0,
            at: '2025-06-01T12:01:00.000Z',
          },
        ],
      },
    ],
  },
);
export type NotifyDelivery = Static<typeof NotifyDeliverySchema>;
