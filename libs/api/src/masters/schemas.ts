import { Type, type Static } from '@sinclair/typebox';
import { PACK_FORMATS } from '@subpack/rules';
import { ByteCountSchema, DateTimeSchema, ErrorInfoSchema, ExtrasSchema, MasterUrlSchema } from '@subpack/contracts';

/** The formats a channel can be written in; `auto` is a choice among these, not a format of its own. */
export const CONCRETE_FORMATS = PACK_FORMATS.filter((f): f is Exclude<(typeof PACK_FORMATS)[number], 'auto'> => f !== 'auto');

/** The largest launcher icon a master record names and GET /masters/{id}/icon serves. */
export const ICON_MAX_BYTES = 1024 * 1024;

export const FOUND_CHANNEL_FORMATS = ['walle', 'vasdolly', 'v1-comment', 'meta-inf', 'packer-ng'] as const;

export const SigningPairSchema = Type.Object(
  {
    id: Type.String({ pattern: '^0x[0-9a-f]{8}$', description: 'The pair id as 8 hex digits.' }),
    name: Type.String({ description: 'What the pair holds (v2, v3, v3.1, walle, vasdolly, verity padding...) or "unknown".' }),
    bytes: ByteCountSchema('Size of the pair value.'),
  },
  { title: 'Signing block pair' },
);

export const ExistingChannelSchema = Type.Object(
  {
    channel: Type.String({ description: 'A channel id already written into the master.' }),
    format: Type.Union(FOUND_CHANNEL_FORMATS.map((f) => Type.Literal(f))),
    extras: ExtrasSchema,
  },
  { title: 'Existing channel' },
);

export const FormatFitSchema = Type.Object(
  {
    format: Type.Union(CONCRETE_FORMATS.map((f) => Type.Literal(f))),
    usable: Type.Boolean(),
    extras: Type.Boolean({ description: 'The format carries extras besides the channel id.' }),
    reason: Type.Optional(Type.String({ description: 'Why the format cannot be used with this master.' })),
  },
  { title: 'Format fit' },
);

export const MasterSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    url: MasterUrlSchema,
    origin: Type.Union([Type.Literal('upload'), Type.Literal('registered')], {
      description: 'upload: stored by the API, deleted with the record; registered: an existing file or object, left in place.',
    }),
    size: ByteCountSchema('Size of the APK.'),
    uploadedBy: Type.String({ description: 'The user who uploaded or registered it.' }),
    createdAt: DateTimeSchema('When it was uploaded or registered.'),
    filename: Type.Optional(Type.String({ maxLength: 1024, description: 'The name the client gave the upload; kept as text only, never as a path.' })),
    package: Type.String(),
    versionName: Type.Union([Type.String(), Type.Null()]),
    versionCode: Type.Integer({ minimum: 0 }),
    versionCodeMajor: Type.Integer({ minimum: 0 }),
    label: Type.Union([Type.String(), Type.Null()], { description: 'The application label, resolved through resources.arsc; Chinese text kept as it is.' }),
    icon: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              entry: Type.String({ description: 'The ZIP entry, e.g. res/mipmap-xhdpi-v4/ic_launcher.png.' }),
              bytes: ByteCountSchema('Its uncompressed size.'),
            },
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        {
          description:
            'The launcher icon: the densest PNG or WEBP android:icon names, served by GET /masters/{id}/icon; null when the APK has none (or only an adaptive or vector XML icon, or one over 1 MiB). Absent on masters inspected before icons were read.',
        },
      ),
    ),
    minSdk: Type.Union([Type.Integer(), Type.Null()]),
    targetSdk: Type.Union([Type.Integer(), Type.Null()]),
    schemes: Type.Array(Type.String({ examples: ['v1', 'v2', 'v3', 'v3.1', 'source-stamp'] })),
    signingBlock: Type.Union([
      Type.Object({ offset: ByteCountSchema('Where the APK Signing Block starts.'), size: ByteCountSchema('Its size.'), pairs: Type.Array(SigningPairSchema) }),
      Type.Null(),
    ]),
    channels: Type.Array(ExistingChannelSchema, { description: 'Channels already written into the master, in any known format.' }),
    formats: Type.Array(FormatFitSchema, { description: 'Every channel format, whether it fits this master and why not.' }),
    entryCount: Type.Integer({ minimum: 0, description: 'ZIP entries in the APK.' }),
    problems: Type.Array(ErrorInfoSchema, { description: 'What makes this APK unusable as a master (a malformed signing block); empty when pack accepts it.' }),
  },
  { title: 'Master', additionalProperties: false },
);

export type MasterRecord = Static<typeof MasterSchema>;
export type FormatFit = Static<typeof FormatFitSchema>;

export const MasterPageSchema = Type.Object(
  {
    items: Type.Array(MasterSchema),
    nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` for the next, older page; absent on the last page.' })),
  },
  { title: 'Master page' },
);
export type MasterPage = Static<typeof MasterPageSchema>;

export const MasterListQuerySchema = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 256 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const RegisterMasterSchema = Type.Object(
  { url: MasterUrlSchema },
  { title: 'Register a master', description: 'An APK already inside the master roots; it stays where it is.', additionalProperties: false },
);
