import { Type, type Static } from '@sinclair/typebox';
import {
  ByteCountSchema,
  ChannelIdSchema,
  ExtrasSchema,
  FileNameSchema,
  MasterUrlSchema,
  Md5HexSchema,
  Sha256HexSchema,
  TargetUrlSchema,
  UploadModeSchema,
  TaskIdSchema,
} from './common';
import { rule } from './rules';

export const ChannelStoreJobSchema = Type.Object(
  {
    taskId: TaskIdSchema,
    channel: ChannelIdSchema,
    extras: Type.Optional(ExtrasSchema),
    master: MasterUrlSchema,
    masterSha256: Type.Optional(Sha256HexSchema),
    prefixLength: Type.Integer({
      minimum: 0,
      description: 'Bytes copied unchanged from the start of the master; the output is master[0, prefixLength) + tail.',
    }),
    tail: Type.String({
      contentEncoding: 'base64',
      description: 'The rewritten end of the APK (signing block, central directory, EOCD), base64.',
      allOf: [
        rule(
          { pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' },
          'must be standard base64 (A-Z a-z 0-9 + / with = padding)',
        ),
      ],
    }),
    bytes: ByteCountSchema('Size of the finished APK: prefixLength + decoded tail length.'),
    md5: Md5HexSchema,
    sha256: Sha256HexSchema,
    fileName: FileNameSchema,
    target: TargetUrlSchema,
    upload: Type.Optional(UploadModeSchema),
    batchIndex: Type.Integer({ minimum: 0, description: 'The PackBatch this channel came from.' }),
  },
  {
    title: 'ChannelStoreJob',
    description:
      'One finished channel APK described as "prefix of the master + new tail", sent by the packer with routing key ' +
      '"channel.store" to the uploader, which writes it to target/fileName and emits event.channel.stored. ' +
      'masterSha256 pins the exact master bytes the prefix refers to (local masters; an object-store master is ' +
      'pinned by the channel digests, which the uploader recomputes from the prefix it copies).',
    additionalProperties: false,
    examples: [
      {
        taskId: 'release-2025-06-01.42',
        channel: 'huawei',
        master: 'file:///srv/apks/app-release.apk',
        masterSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        prefixLength: 1048576,
        tail: 'UEsFBgAAAAABAAEAAAAAAAAAAAAAAA==',
        bytes: 1048598,
        md5: '098f6bcd4621d373cade4e832627b4f6',
        sha256: '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752',
        fileName: 'com.example.app-1.4.0-huawei.apk',
        target: 'file:///srv/apks/out/',
        batchIndex: 0,
      },
    ],
  },
);
export type ChannelStoreJob = Static<typeof ChannelStoreJobSchema>;
