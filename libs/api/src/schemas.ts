import { Type, type TSchema } from '@sinclair/typebox';
import { ChannelSchema, ErrorInfoSchema, ExtrasSchema, NamingTemplateSchema, NotifySchema, PackFormatSchema, TaskIdSchema, UploadModeSchema } from '@subpack/contracts';

/** A page of a long listing; `nextCursor` is passed back as `cursor`, null after the last page. */
export function Page<T extends TSchema>(item: T, title: string) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { title });
}

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'From the previous page’s nextCursor.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
};

export const IdParamDoc = 'The resource id.';

export const TASK_STATES = ['pending', 'running', 'done', 'partial', 'failed', 'cancelled'] as const;
export const TaskStateSchema = Type.Union(TASK_STATES.map((s) => Type.Literal(s)));

export const TaskSummarySchema = Type.Object(
  {
    taskId: Type.String(),
    status: TaskStateSchema,
    total: Type.Integer(),
    done: Type.Integer(),
    kept: Type.Integer(),
    failed: Type.Integer(),
    attempt: Type.Integer(),
    master: Type.String(),
    target: Type.String(),
    package: Type.Optional(Type.String()),
    versionName: Type.Optional(Type.String()),
    versionCode: Type.Optional(Type.Integer()),
    format: Type.Optional(Type.String()),
    naming: Type.Optional(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    finishedAt: Type.Optional(Type.String()),
    stalledAt: Type.Optional(Type.String()),
    error: Type.Optional(ErrorInfoSchema),
    creator: Type.Optional(Type.String({ description: 'Who created the task through the API (absent for tasks sent otherwise).' })),
    destination: Type.Optional(Type.String()),
    masterId: Type.Optional(Type.String()),
    progress: Type.Number({ description: 'Finished channels (stored or failed) over all, 0 to 1.' }),
  },
  { title: 'TaskSummary' },
);

export const TaskDetailSchema = Type.Composite(
  [
    TaskSummarySchema,
    Type.Object({
      channelsPerSecond: Type.Number({ description: 'Channels finished per second since the task was accepted.' }),
      etaSeconds: Type.Union([Type.Number(), Type.Null()], { description: 'Seconds left at the current rate; null when unknown or finished.' }),
      failureReasons: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), channels: Type.Integer(), example: Type.String() }), {
        description: 'Failed channels grouped by reason, largest group first.',
      }),
    }),
  ],
  { title: 'TaskDetail' },
);

export const ChannelResultSchema = Type.Object(
  {
    channel: Type.String(),
    status: Type.Union([Type.Literal('stored'), Type.Literal('failed')]),
    url: Type.Optional(Type.String()),
    bytes: Type.Optional(Type.Integer()),
    md5: Type.Optional(Type.String()),
    sha256: Type.Optional(Type.String()),
    kept: Type.Optional(Type.Boolean()),
    reason: Type.Optional(ErrorInfoSchema),
    attempts: Type.Optional(Type.Integer()),
    at: Type.String(),
  },
  { title: 'ChannelResult' },
);

export const TaskCreateSchema = Type.Object(
  {
    taskId: Type.Optional(TaskIdSchema),
    master: Type.String({ minLength: 1, maxLength: 200, description: 'A master id from /masters.' }),
    channelList: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'A channel list id from /channel-lists.' })),
    channels: Type.Optional(Type.Array(ChannelSchema, { minItems: 1, description: 'Inline channels, instead of a list.' })),
    format: Type.Optional(PackFormatSchema),
    naming: Type.Optional(NamingTemplateSchema),
    destination: Type.String({ minLength: 1, maxLength: 100, description: 'A destination name from /destinations.' }),
    extras: Type.Optional(ExtrasSchema),
    upload: Type.Optional(UploadModeSchema),
    notify: Type.Optional(NotifySchema),
  },
  { title: 'TaskCreate', additionalProperties: false },
);

export const TaskPreviewSchema = Type.Object(
  {
    channels: Type.Integer(),
    target: Type.String(),
    names: Type.Array(Type.Object({ channel: Type.String(), name: Type.String() }), { description: 'The first file names, as they will be written.' }),
    warnings: Type.Array(Type.String()),
    estimatedBytes: Type.Integer({ description: 'About the master’s size times the channels.' }),
    task: Type.Unknown({ description: 'The pack task that would be sent.' }),
  },
  { title: 'TaskPreview' },
);

export const DestinationSchema = Type.Object(
  {
    name: Type.String(),
    url: Type.String(),
    kind: Type.Union([Type.Literal('file'), Type.Literal('s3'), Type.Literal('oss')]),
    source: Type.Union([Type.Literal('configured'), Type.Literal('added')], { description: 'Configured ones come from SUBPACK_API_DESTINATIONS and cannot be removed here.' }),
  },
  { title: 'Destination' },
);

export const ChannelListSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    channels: Type.Array(ChannelSchema),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { title: 'ChannelList' },
);

export const ChannelListSummarySchema = Type.Object(
  { id: Type.String(), name: Type.String(), count: Type.Integer(), createdBy: Type.String(), createdAt: Type.String(), updatedAt: Type.String() },
  { title: 'ChannelListSummary' },
);

export const ChannelListInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    channels: Type.Optional(Type.Array(Type.Unknown(), { description: 'Channel objects ({ id, extras }); each is checked with the shared rules.' })),
    text: Type.Optional(Type.String({ description: 'The text of a channels file (same syntax as --channels).' })),
  },
  { title: 'ChannelListInput', additionalProperties: false },
);

export const OkSchema = Type.Object({ ok: Type.Boolean() }, { title: 'Ok' });
