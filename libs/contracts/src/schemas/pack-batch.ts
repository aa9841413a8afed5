import { Type, type Static } from '@sinclair/typebox';
import { ChannelIdSchema, TaskIdSchema } from './common';

export const PackBatchSchema = Type.Object(
  {
    taskId: TaskIdSchema,
    batch: Type.Object(
      {
        index: Type.Integer({ minimum: 0, description: '0-based batch number; less than count.' }),
        count: Type.Integer({ minimum: 1, description: 'Number of batches the task was split into.' }),
      },
      { additionalProperties: false },
    ),
    channels: Type.Array(ChannelIdSchema, { minItems: 1, description: 'The ids of this batch\'s channels (a slice of the task\'s).' }),
  },
  {
    title: 'PackBatch',
    description:
      'A slice of an accepted task\'s channels, published by the packer with routing key "pack.batch" so several ' +
      'packers share one task and no delivery runs long. It names the channels only: the packer takes the master, ' +
      'target, format, naming and extras from the task as it was accepted (in Redis). A batch for an unknown task or ' +
      'naming a channel the task does not have is parked unplanned.',
    additionalProperties: false,
    examples: [
      {
        taskId: 'release-2025-06-01.42',
        batch: { index: 0, count: 3 },
        channels: ['huawei', 'xiaomi'],
      },
    ],
  },
);
export type PackBatch = Static<typeof PackBatchSchema>;
