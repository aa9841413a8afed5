import { Type, type Static, type TLiteral, type TObject, type TProperties, type TString } from '@sinclair/typebox';
import {
  ByteCountSchema,
  ChannelIdSchema,
  ErrorInfoSchema,
  REASON_MAX_LENGTH,
  DateTimeSchema,
  Md5HexSchema,
  Sha256HexSchema,
  TaskIdSchema,
} from './common';
import { StringEnum } from './rules';
import { taskAttemptRef } from '../topology/message-properties';

type EventProperties<T extends string, P extends TProperties> = { type: TLiteral<T>; taskId: TString } & P & {
  at: TString;
};

/**
 * Every event has `type` (its routing key without "event."), `taskId` and `at`. Events stay open to new fields
 * (no additionalProperties: false): they fan out to consumers we do not deploy, who must ignore what they do not know.
 */
function eventSchema<T extends string, P extends TProperties>(
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

/** Carried by the events of a task's run, so an event of a retried run says so. */
const taskAttempt = {
  taskAttempt: Type.Optional(
    Type.Integer({
      minimum: 2,
      description:
        'Which run of the task this event belongs to when the task was retried (`subpack retry`): 2 for the first retry, ' +
        'and so on. Absent on the first run. Each run has its own message ids.',
    }),
  ),
};

export const TaskAcceptedEventSchema = eventSchema(
  'task.accepted',
  {
    total: Type.Integer({ minimum: 1, description: 'Channels in the task.' }),
    batches: Type.Integer({ minimum: 1, description: 'PackBatches the task was split into.' }),
    package: Type.String({ minLength: 1, maxLength: 255, description: 'Android package name of the master.' }),
    versionName: Type.String({ maxLength: 255, description: 'android:versionName of the master.' }),
    versionCode: Type.Integer({ minimum: 0, description: 'android:versionCode of the master.' }),

    ...taskAttempt,
  },
  {
    description:
      'The packer validated a task, read its master and split it into batches. Emitted once per task, however often it is sent. ' +
      'Routing key event.task.accepted.',
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

export const ChannelStoredEventSchema = eventSchema(
  'channel.stored',
  {
    channel: ChannelIdSchema,
    url: Type.String({ minLength: 1, maxLength: 4096, description: 'Storage URL of the written APK.' }),
    bytes: ByteCountSchema('Size of the written APK.'),
    md5: Md5HexSchema,
    sha256: Sha256HexSchema,

    ...taskAttempt,
  },
  {
    description:
      'The uploader wrote one channel APK. Emitted once per channel, however many deliveries store it. Routing key event.channel.stored.',
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

export const ChannelFailedEventSchema = eventSchema(
  'channel.failed',
  { channel: ChannelIdSchema, error: ErrorInfoSchema, ...taskAttempt },
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

export const TASK_COMPLETION_STATUSES = ['done', 'partial'] as const;

export const TaskCompletedEventSchema = eventSchema(
  'task.completed',
  {
    status: StringEnum(TASK_COMPLETION_STATUSES, {
      description: 'done: every channel stored; partial: some stored, some failed. A task with no channel stored ends with task.failed instead.',
    }),
    total: countOf('Channels in the task.'),
    done: countOf('Channels stored.'),
    written: Type.Optional(countOf('Of done, the channels written.')),
    kept: Type.Optional(countOf('Of done, the channels whose output already held exactly their bytes (a rerun): kept, not written.')),
    failed: countOf('Channels failed.'),

    ...taskAttempt,
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
        written: 200,
        kept: 49,
        failed: 1,
        at: '2025-06-01T12:01:00.000Z',
      },
    ],
  },
);
export type TaskCompletedEvent = Static<typeof TaskCompletedEventSchema>;

export const TaskFailedEventSchema = eventSchema(
  'task.failed',
  { error: ErrorInfoSchema, ...taskAttempt },
  {
    description:
      'The whole task failed: before any channel could be produced (bad input, unreadable master), or because no ' +
      'channel could be stored (code ALL_CHANNELS_FAILED, the message counts the channel failures by code with an ' +
      'example of each). Emitted once. Routing key event.task.failed.',
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

export const TaskCancelledEventSchema = eventSchema(
  'task.cancelled',
  {
    total: countOf('Channels in the task.'),
    done: countOf('Channels stored before the task was cancelled; their objects stay in the target.'),
    failed: countOf('Channels failed before the task was cancelled.'),
    cancelledBy: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Who cancelled the task, when known.' })),

    ...taskAttempt,
  },
  {
    description:
      'A person cancelled the task while it ran: no further channel is written, nothing retries it, and it ends with ' +
      'neither task.completed nor task.failed. The counts are final; every object in the target is one of the `done` ' +
      'channels. Emitted once. Routing key event.task.cancelled.',
    examples: [
      {
        type: 'task.cancelled',
        taskId: 'release-2025-06-01.42',
        total: 250,
        done: 87,
        failed: 0,
        cancelledBy: 'ops@example.com',
        at: '2025-06-01T12:00:30.000Z',
      },
    ],
  },
);
export type TaskCancelledEvent = Static<typeof TaskCancelledEventSchema>;

export const TaskStalledEventSchema = eventSchema(
  'task.stalled',
  {
    lastProgressAt: DateTimeSchema('When the task last made progress: accepted, or a channel stored or failed.'),
    total: countOf('Channels in the task.'),
    done: countOf('Channels stored so far.'),
    failed: countOf('Channels failed so far.'),

    ...taskAttempt,
  },
  {
    description:
      'A running task has made no progress for the configured time (SUBPACK_STALL_AFTER_MS): no uploader or packer is ' +
      'working on it, or its messages are stuck. Sent once per stall; progress ends the stall. Routing key ' +
      'event.task.stalled.',
    examples: [
      {
        type: 'task.stalled',
        taskId: 'release-2025-06-01.42',
        lastProgressAt: '2025-06-01T12:00:04.000Z',
        total: 250,
        done: 120,
        failed: 0,
        at: '2025-06-01T12:15:04.000Z',
      },
    ],
  },
);

export const RetryScheduledEventSchema = eventSchema(
  'retry.scheduled',
  {
    route: Type.String({ minLength: 1, maxLength: 255, description: 'Routing key the failed message was first published with.' }),
    channel: Type.Optional(ChannelIdSchema),
    batch: Type.Optional(Type.Integer({ minimum: 0, description: 'Batch index, for a failed pack.batch.' })),
    attempt: Type.Integer({ minimum: 1, description: 'Failures so far; 1 = first failure.' }),
    tier: Type.String({ minLength: 1, maxLength: 64, description: 'Retry tier the message waits in, e.g. 30s.' }),
    delayMs: Type.Integer({ minimum: 0, description: 'How long the message waits before it is tried again.' }),
    reason: Type.String({ minLength: 1, maxLength: REASON_MAX_LENGTH, description: 'Why the last attempt failed.' }),

    ...taskAttempt,
  },
  {
    description:
      'The retry-scheduler put one of the task\'s messages into a delay tier. Published for task.pack, pack.batch ' +
      'and channel.store messages only. Routing key event.retry.scheduled.',
    examples: [
      {
        type: 'retry.scheduled',
        taskId: 'release-2025-06-01.42',
        route: 'channel.store',
        channel: 'xiaomi',
        attempt: 1,
        tier: '5s',
        delayMs: 5000,
        reason: 'ECONNRESET while writing to storage',
        at: '2025-06-01T12:00:04.000Z',
      },
    ],
  },
);
export type RetryScheduledEvent = Static<typeof RetryScheduledEventSchema>;

export const NotifyFailedEventSchema = eventSchema(
  'notify.failed',
  {
    subscription: Type.Object(
      {
        origin: Type.String({
          minLength: 1,
          maxLength: 300,
          description: 'Scheme, host and port of the webhook; path and query are left out because robots keep tokens there.',
        }),
        format: Type.String({ minLength: 1, maxLength: 32, description: 'Message format of the subscription.' }),
        key: Type.String({ minLength: 1, maxLength: 64, description: 'Stable id of the subscription (a digest, not a secret).' }),
      },
      { description: 'Which subscription gave up, without its secret or tokens.' },
    ),
    deliveryId: Type.String({ minLength: 1, maxLength: 255, description: 'webhook-id of the delivery that was given up.' }),
    permanent: Type.Boolean({ description: 'true: refused or rejected, never retried; false: gave up after the last retry.' }),
    reason: Type.String({ minLength: 1, maxLength: REASON_MAX_LENGTH, description: 'Why the delivery was given up.' }),
  },
  {
    description:
      'The notifier gave up on a delivery to one subscription: its host is not allowed, the receiver rejected it, or the ' +
      'last retry failed. The notifier does not deliver these events itself (that could loop). Routing key ' +
      'event.notify.failed.',
    examples: [
      {
        type: 'notify.failed',
        taskId: 'release-2025-06-01.42',
        subscription: { origin: 'https://intranet.example.com', format: 'json', key: '5f0c2a9d1e7b4c3a' },
        deliveryId: 'task.completed:release-2025-06-01.42:5f0c2a9d1e7b4c3a',
        permanent: true,
        reason: 'host intranet.example.com is not on the notifier allowlist (SUBPACK_NOTIFY_ALLOWED_HOSTS)',
        at: '2025-06-01T12:01:00.000Z',
      },
    ],
  },
);
export type NotifyFailedEvent = Static<typeof NotifyFailedEventSchema>;

interface EventEntry<S extends TObject> {
  readonly schema: S;
  /** How people call it (AsyncAPI titles). */
  readonly title: string;
  /** Name of the schema's example in the AsyncAPI document. */
  readonly exampleName: string;
  /**
   * What makes one event of this type unique, after its type: a redelivered or re-sent event keeps its message id, so
   * consumers (and the notifier's webhook receivers) can de-duplicate.
   */
  readonly idParts: (event: Static<S>) => readonly (string | number)[];
}

/** The run of the task an event belongs to, in its message id: a retried run's events are not repeats of the first's. */
function run(event: { taskId: string; taskAttempt?: number }): string {
  return taskAttemptRef(event.taskId, event.taskAttempt);
}

function entry<S extends TObject>(schema: S, rest: Omit<EventEntry<S>, 'schema'>): EventEntry<S> {
  return { schema, ...rest };
}

/**
 * Every event type, once, in publishing order. The union type, the validators, the schema catalogue, the message ids
 * and the AsyncAPI channels and messages all come from this list.
 */
export const EVENT_CATALOG = {
  'task.accepted': entry(TaskAcceptedEventSchema, { title: 'Task accepted', exampleName: 'accepted', idParts: (e) => [run(e)] }),
  'channel.stored': entry(ChannelStoredEventSchema, { title: 'Channel stored', exampleName: 'stored', idParts: (e) => [run(e), e.channel] }),
  'channel.failed': entry(ChannelFailedEventSchema, { title: 'Channel failed', exampleName: 'writeFailed', idParts: (e) => [run(e), e.channel] }),
  'task.completed': entry(TaskCompletedEventSchema, { title: 'Task completed', exampleName: 'partial', idParts: (e) => [run(e)] }),
  'task.failed': entry(TaskFailedEventSchema, { title: 'Task failed', exampleName: 'notAZip', idParts: (e) => [run(e)] }),
  'task.cancelled': entry(TaskCancelledEventSchema, { title: 'Task cancelled', exampleName: 'byOperator', idParts: (e) => [run(e)] }),
  'retry.scheduled': entry(RetryScheduledEventSchema, {
    title: 'Retry scheduled',
    exampleName: 'storeRetry',
    idParts: (e) => [run(e), e.route, e.channel ?? e.batch ?? '', e.attempt],
  }),
  'notify.failed': entry(NotifyFailedEventSchema, { title: 'Notification failed', exampleName: 'hostNotAllowed', idParts: (e) => [e.deliveryId] }),
  // A task can stall again after progress: each stall is its own event.
  'task.stalled': entry(TaskStalledEventSchema, { title: 'Task stalled', exampleName: 'noUploader', idParts: (e) => [run(e), e.lastProgressAt] }),
} as const;

export type EventType = keyof typeof EVENT_CATALOG;
export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as readonly EventType[];
/** The event of one type. */
export type EventOf<T extends EventType> = Static<(typeof EVENT_CATALOG)[T]['schema']>;
export type SubpackEvent = { [T in EventType]: EventOf<T> }[EventType];

/** The catalogue name of an event's schema: `task.accepted` → `task-accepted-event`. */
export type EventSchemaName<T extends EventType = EventType> = T extends `${infer A}.${infer B}` ? `${A}-${B}-event` : never;
export function eventSchemaName<T extends EventType>(type: T): EventSchemaName<T> {
  return `${type.replace('.', '-')}-event` as EventSchemaName<T>;
}

/** Every event's schema, by catalogue name. */
export const EVENT_SCHEMA_CATALOG = Object.fromEntries(EVENT_TYPES.map((type) => [eventSchemaName(type), EVENT_CATALOG[type].schema])) as {
  readonly [T in EventType as EventSchemaName<T>]: (typeof EVENT_CATALOG)[T]['schema'];
};

export function eventMessageId(event: SubpackEvent): string {
  const idParts = EVENT_CATALOG[event.type].idParts as (e: SubpackEvent) => readonly (string | number)[];
  return [event.type, ...idParts(event)].join(':');
}
