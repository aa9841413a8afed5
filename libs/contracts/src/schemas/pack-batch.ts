import { Type, type Static } from '@sinclair/typebox';
import {
  ExtrasSchema,
  MasterUrlSchema,
  NamingTemplateSchema,
  PackFormatSchema,
  TargetUrlSchema,
  UploadModeSchema,
  TaskIdSchema,
} from './common';
import { ChannelSchema } from './pack-task';

export const PackBatchSchema = Type.Object(
  {
    taskId: TaskIdSchema,
    master: MasterUrlSchema,
    format: PackFormatSchema,
    naming: NamingTemplateSchema,
    target: TargetUrlSchema,
    upload: Type.Optional(UploadModeSchema),
    extras: Type.Optional(ExtrasSchema),
    channels: Type.Array(ChannelSchema, { minItems: 1, description: 'The channels of this batch (a slice of the task).' }),
    batch: Type.Object(
      {
        index: Type.Integer({ minimum: 0, description: '0-based batch number; less than count.' }),
        count: Type.Integer({ minimum: 1, description: 'Number of batches the task was split into.' }),
      },
      { additionalProperties: false },
    ),
    totalChannels: Type.Integer({ minimum: 1, description: 'Channels in the whole task.' }),
  },
  {
    title: 'PackBatch',
    description:
      'A slice of a PackTask\'s channels, published by the packer with routing key "pack.batch" so several packers ' +
      'share one task and no delivery runs long. Format and naming are already resolved to their defaults.',
    additionalProperties: false,
    examples: [
      {
        taskId: 'release-2025-06-01.42',
        master: 'file:///srv/apks/app-release.apk',
        format: 'walle',
        naming: '{package}-{versionName}-{channel}.apk',
        target: 'file:///srv/apks/out/',
        extras: { build: '42' },
        channels: [{ id: 'huawei' }, { id: 'xiaomi', extras: { campaign: 'spring' } }],
        batch: { index: 0, count: 3 },
        totalChannels: 250,
      },
    ],
  },
);
export type PackBatch = Static<typeof PackBatchSchema>;
