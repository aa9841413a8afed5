import { Type, type Static } from '@sinclair/typebox';
import {
  ChannelIdSchema,
  DEFAULT_NAMING,
  DEFAULT_PACK_FORMAT,
  ExtrasSchema,
  DateTimeSchema,
  MasterUrlSchema,
  NamingTemplateSchema,
  PackFormatSchema,
  TargetUrlSchema,
  UploadModeSchema,
  TaskIdSchema,
  type PackFormat,
} from './common';
import { rule, StringEnum } from './rules';
import { MAX_CHANNELS } from '@subpack/rules';

export const ChannelSchema = Type.Object(
  {
    id: ChannelIdSchema,
    extras: Type.Optional(ExtrasSchema),
  },
  {
    title: 'Channel',
    description: 'One output channel. Its extras override the task-level extras key by key.',
    additionalProperties: false,
    examples: [{ id: 'huawei' }, { id: 'xiaomi', extras: { campaign: 'spring' } }],
  },
);
export type Channel = Static<typeof ChannelSchema>;

export const NOTIFY_LEVELS = ['info', 'warn', 'error'] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];

export const NotifySchema = Type.Object(
  {
    webhook: Type.Optional(
      Type.String({
        format: 'uri',
        maxLength: 2048,
        allOf: [rule({ pattern: '^https?://' }, 'must be an http:// or https:// URL')],
        description: 'Webhook that receives this task\'s events (HMAC-signed by the notifier).',
      }),
    ),
    level: Type.Optional(
      StringEnum(NOTIFY_LEVELS, {
        description: 'Lowest level delivered: info (progress), warn (retries), error (failures).',
        default: 'info',
      }),
    ),
  },
  { title: 'Notification settings', additionalProperties: false },
);
export type Notify = Static<typeof NotifySchema>;

export const PACK_TASK_EXAMPLE = {
  taskId: 'release-2025-06-01.42',
  master: 'file:///srv/apks/app-release.apk',
  channels: [{ id: 'huawei' }, { id: 'xiaomi', extras: { campaign: 'spring' } }],
  format: 'walle',
  naming: DEFAULT_NAMING,
  target: 'file:///srv/apks/out/',
  extras: { build: '42' },
  notify: { webhook: 'https://hooks.example.com/subpack', level: 'warn' },
  submittedAt: '2025-06-01T12:00:00.000Z',
};

export const PackTaskSchema = Type.Object(
  {
    taskId: TaskIdSchema,
    master: MasterUrlSchema,
    channels: Type.Array(ChannelSchema, { minItems: 1, maxItems: MAX_CHANNELS, description: 'Channels to produce; ids must be unique.' }),
    format: Type.Optional(PackFormatSchema),
    naming: Type.Optional(NamingTemplateSchema),
    target: TargetUrlSchema,
    upload: Type.Optional(UploadModeSchema),
    extras: Type.Optional(ExtrasSchema),
    notify: Type.Optional(NotifySchema),
    submittedAt: Type.Optional(DateTimeSchema('When the publisher submitted the task.')),
  },
  {
    title: 'PackTask',
    description:
      'Request to turn one signed master APK into one APK per channel. Published by any client to exchange ' +
      '"subpack" with routing key "task.pack" as plain JSON. Unknown fields are rejected so typos are caught.',
    additionalProperties: false,
    examples: [
      PACK_TASK_EXAMPLE,
      { taskId: 'minimal-1', master: 'file:///srv/apks/app.apk', channels: [{ id: 'google' }], target: 'file:///srv/out/' },
    ],
  },
);
export type PackTask = Static<typeof PackTaskSchema>;

/** A PackTask with its optional settings resolved to the documented defaults. */
export type ResolvedPackTask = PackTask & { format: PackFormat; naming: string };

export function withPackTaskDefaults(task: PackTask): ResolvedPackTask {
  return { ...task, format: task.format ?? DEFAULT_PACK_FORMAT, naming: task.naming ?? DEFAULT_NAMING };
}
