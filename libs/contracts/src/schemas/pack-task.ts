import { Type, type Static } from '@sinclair/typebox';
import {
  ChannelIdSchema,
  ExtrasSchema,
  DateTimeSchema,
  MasterUrlSchema,
  NamingTemplateSchema,
  PackFormatSchema,
  TargetUrlSchema,
  UploadModeSchema,
  TaskIdSchema,
} from './common';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, MAX_CHANNELS, type PackFormat } from '@subpack/rules';
import { NotifySchema } from './notify';

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
      {
        taskId: 'release-2025-06-01.44',
        master: 'file:///srv/apks/app-release.apk',
        channels: [{ id: 'huawei' }],
        target: 'file:///srv/apks/out/',
        notify: [
          { url: 'https://hooks.example.com/subpack', level: 'info', format: 'json', secretRef: 'GAME_BACKEND' },
          { url: 'https://oapi.dingtalk.com/robot/send?access_token=TOKEN', level: 'error', format: 'dingtalk', secretRef: 'OPS_ROBOT' },
        ],
      },
    ],
  },
);
export type PackTask = Static<typeof PackTaskSchema>;

/** A PackTask with its optional settings resolved to the documented defaults. */
export type ResolvedPackTask = PackTask & { format: PackFormat; naming: string };

export function withPackTaskDefaults(task: PackTask): ResolvedPackTask {
  return { ...task, format: task.format ?? DEFAULT_PACK_FORMAT, naming: task.naming ?? DEFAULT_NAMING };
}
