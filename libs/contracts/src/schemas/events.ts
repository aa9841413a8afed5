import { Type, type Static, type TLiteral, type TObject, type TProperties, type TString } from '@sinclair/typebox';
import {
  ByteCountSchema,
  ChannelIdSchema,
  ErrorInfoSchema,
  DateTimeSchema,
  Md5HexSchema,
  Sha256HexSchema,
  TaskIdSchema,
} from './common';
import { StringEnum } from './rules';

export const EVENT_TYPES = ['task.accepted', 'channel.stored', 'channel.failed', 'task.completed', 'task.failed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

type EventProperties<T extends EventType, P extends TProperties> = { type: TLiteral<T>; taskId: TString } & P & {
  at: TString;
};

/**
 * Every event has `type` (its routing key without "event."), `taskId` and `at`. Events stay open to new fields
 * (no additionalProperties: false): they fan out to consumers we do not deploy, who must ignore what they do not know.
 */
function eventSchema<T extends EventType, P extends TProperties>(
  type: T,
  properties: P,
  options: { description: string; examples: ReadonlyArray<Record<string, unknown>> },
): TObject<EventProperties<T, P>> {
  const title = `${type.split('.').map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')}Event`;
  return Type.Object(
    {
      type: Type.Literal(type, { description: 'Event type: the routing key without the "event." prefix.' }),
      taskId: TaskIdSchema,
      ...properties,
      at: DateTimeSchema('When the event happened.'),
    },
    { title, description: options.description, examples: options.examples },
  );
}

const countOf = (what: string) => Type.Integer({ minimum: 0, description: what });

export const TaskAcceptedEventSchema = eventSchema(
  'task.accepted',
  {
    total: Type.Integer({ minimum: 1, description: 'Channels in the task.' }),
    batches: Type.Integer({ minimum: 1, description: 'PackBatches the task was split into.' }),
    package: Type.String({ minLength: 1, maxLength: 255, description: 'Android package name of the master.' }),
    versionName: Type.String({ maxLength: 255, description: 'android:versionName of the master.' }),
    versionCode: Type.Integer({ minimum: 0, description: 'android:versionCode of the master.' }),
  },
  {
    description: 'The packer validated a task, read its master and split it into batches. Routing key event.task.accepted.',
    examples: [
      {
        type: 'task.accepted',
        taskId: 'release-2025-06-01.42',
        total: 250,
        batches: 3,
        package: 'com.example.app',
        versionName: '1.4.0',
        versionCode: 140,
        at: '2025-06-01T12:00:01.000Z',
      },
    ],
  },
);
export type TaskAcceptedEvent = Static<typeof TaskAcceptedEventSchema>;

export const ChannelStoredEventSchema = eventSchema(
  'channel.stored',
  {
    channel: ChannelIdSchema,
    url: Type.String({ minLength: 1, maxLength: 4096, description: 'Storage URL of the written APK.' }),
    bytes: ByteCountSchema('Size of the written APK.'),
    md5: Md5HexSchema,
    sha256: Sha256HexSchema,
  },
  {
    description: 'The uploader wrote one channel APK. Routing key event.channel.stored.',
    examples: [
      {
        type: 'channel.stored',
        taskId: 'release-2025-06-01.42',
        channel: 'huawei',
        url: 'file:///srv/apks/out/com.example.app-1.4.0-huawei.apk',
        bytes: 1048598,
        md5: '098f6bcd4621d373cade4e832627b4f6',
        sha256: '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752',
        at: '2025-06-01T12:00:03.000Z',
      },
    ],
  },
);
export type ChannelStoredEvent = Static<typeof ChannelStoredEventSchema>;

export const ChannelFailedEventSchema = eventSchema(
  'channel.failed',
  { channel: ChannelIdSchema, error: ErrorInfoSchema },
  {
    description: 'One channel could not be produced; the other channels carry on. Routing key event.channel.failed.',
    examples: [
      {
        type: 'channel.failed',
        taskId: 'release-2025-06-01.42',
        channel: 'xiaomi',
        error: { code: 'STORAGE_WRITE_FAILED', message: 'EACCES: permission denied, open /srv/apks/out/x.apk' },
        at: '2025-06-01T12:00:04.000Z',
      },
    ],
  },
);
export type ChannelFailedEvent = Static<typeof ChannelFailedEventSchema>;

export const TASK_COMPLETION_STATUSES = ['done', 'partial'] as const;

export const TaskCompletedEventSchema = eventSchema(
  'task.completed',
  {
    status: StringEnum(TASK_COMPLETION_STATUSES, { description: 'done: every channel stored; partial: some failed.' }),
    total: countOf('Channels in the task.'),
    done: countOf('Channels stored.'),
    failed: countOf('Channels failed.'),
  },
  {
    description: 'Every channel of the task is either stored or failed. Emitted once. Routing key event.task.completed.',
    examples: [
      {
        type: 'task.completed',
        taskId: 'release-2025-06-01.42',
        status: 'partial',
        total: 250,
        done: 249,
        failed: 1,
        at: '2025-06-01T12:01:00.000Z',
      },
    ],
  },
);
export type TaskCompletedEvent = Static<typeof TaskCompletedEventSchema>;

export const TaskFailedEventSchema = eventSchema(
  'task.failed',
  { error: ErrorInfoSchema },
  {
    description:
      'The whole task failed before any channel could be produced (bad input, unreadable master). ' +
      'Routing key event.task.failed.',
    examples: [
      {
        type: 'task.failed',
        taskId: 'release-2025-06-01.43',
        error: { code: 'NOT_A_ZIP', message: 'master.apk is not a ZIP file: no end of central directory record' },
        at: '2025-06-01T12:05:00.000Z',
      },
    ],
  },
);
export type TaskFailedEvent = Static<typeof TaskFailedEventSchema>;

export type SubpackEvent =
  | TaskAcceptedEvent
  | ChannelStoredEvent
  | ChannelFailedEvent
  | TaskCompletedEvent
  | TaskFailedEvent;

export const EVENT_SCHEMAS = {
  'task.accepted': TaskAcceptedEventSchema,
  'channel.stored': ChannelStoredEventSchema,
  'channel.failed': ChannelFailedEventSchema,
  'task.completed': TaskCompletedEventSchema,
  'task.failed': TaskFailedEventSchema,
} as const satisfies Record<EventType, TObject>;
