import { Type, type Static } from '@sinclair/typebox';
import { ChannelIdSchema, Sha256HexSchema, TaskIdSchema } from './common';

export const ChannelStoreJobSchema = Type.Object(
  {
    taskId: TaskIdSchema,
    channel: ChannelIdSchema,
    batchIndex: Type.Integer({ minimum: 0, description: 'The PackBatch this channel came from.' }),
    sha256: Type.Optional(Sha256HexSchema),
  },
  {
    title: 'ChannelStoreJob',
    description:
      'One channel of an accepted task, sent by the packer with routing key "channel.store" to the uploader. It names ' +
      'the channel only (sha256, when given, is the digest the packer expects of the finished APK): the uploader takes the master, target, format, naming and extras from the task as it was ' +
      'accepted (in Redis), re-plans the channel against the master, writes it inside the allowed target roots and ' +
      'emits event.channel.stored. A job for an unknown task or a channel the task does not have is parked unwritten.',
    additionalProperties: false,
    examples: [
      {
        taskId: 'release-2025-06-01.42',
        channel: 'huawei',
        batchIndex: 0,
        sha256: '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752',
      },
    ],
  },
);
export type ChannelStoreJob = Static<typeof ChannelStoreJobSchema>;
