import { Type, type Static, type TInteger, type TString } from '@sinclair/typebox';
import { noControlCharacters, pathSegmentRules, rule, StringEnum } from './rules';

// Building blocks shared by several messages. They carry no $id: they are inlined into every message schema, so each
// emitted schema file is self-contained for publishers in other languages.

export const TaskIdSchema = Type.String({
  title: 'Task id',
  description: 'Caller-chosen id of a pack task. Resending a task with the same id is the same task (idempotent).',
  minLength: 1,
  maxLength: 128,
  allOf: [
    rule(
      { pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' },
      'must start with a letter or digit and contain only letters, digits, ".", "_", ":" and "-"',
    ),
  ],
  examples: ['release-2025-06-01.42'],
});

export const MasterUrlSchema = Type.String({
  title: 'Master APK URL',
  description: 'Storage URL of the signed master APK: file:///abs/path.apk (s3://bucket/key and oss://bucket/key later).',
  minLength: 1,
  maxLength: 2048,
  allOf: [
    noControlCharacters,
    rule(
      { pattern: '^(file:///|(s3|oss)://[^/]+/).+' },
      'must be a storage URL such as file:///abs/path/master.apk, s3://bucket/key or oss://bucket/key',
    ),
  ],
  examples: ['file:///srv/apks/app-release.apk'],
});

export const TargetUrlSchema = Type.String({
  title: 'Target URL prefix',
  description: 'Storage URL prefix the channel APKs are written under: file:///abs/dir/ (s3:// and oss:// later).',
  minLength: 1,
  maxLength: 2048,
  allOf: [
    noControlCharacters,
    rule(
      { pattern: '^(file:///|(s3|oss)://[^/]+(/|$))' },
      'must be a storage URL prefix such as file:///abs/dir/, s3://bucket/prefix/ or oss://bucket/prefix/',
    ),
  ],
  examples: ['file:///srv/apks/out/'],
});

export const ChannelIdSchema = Type.String({
  title: 'Channel id',
  description: 'Channel id written into the APK. It also names the output file, so it must be a safe path segment.',
  minLength: 1,
  maxLength: 128,
  allOf: [...pathSegmentRules],
  examples: ['huawei'],
});

export const FileNameSchema = Type.String({
  title: 'File name',
  description: 'Output file name (the naming template expanded for one channel); a single path segment.',
  minLength: 1,
  maxLength: 255,
  allOf: [...pathSegmentRules],
  examples: ['com.example.app-1.4.0-huawei.apk'],
});

export const ExtrasSchema = Type.Unsafe<Record<string, string>>({
  title: 'Extras',
  description: 'Extra string key/value pairs written next to the channel id (Walle/VasDolly extras).',
  type: 'object',
  maxProperties: 64,
  propertyNames: { minLength: 1, maxLength: 128, allOf: [noControlCharacters] },
  additionalProperties: { type: 'string', maxLength: 4096 },
  examples: [{ campaign: 'spring' }],
});

export const PACK_FORMATS = ['auto', 'walle', 'vasdolly', 'v1-comment', 'meta-inf'] as const;
export const DEFAULT_PACK_FORMAT = 'auto' satisfies PackFormat;

export const PackFormatSchema = StringEnum(PACK_FORMATS, {
  title: 'Channel format',
  description:
    'Where the channel id is written: auto (pick from the master), walle or vasdolly (APK Signing Block), ' +
    'v1-comment (ZIP comment), meta-inf (META-INF entry, v1-only APKs).',
  default: DEFAULT_PACK_FORMAT,
  examples: ['walle'],
});
export type PackFormat = (typeof PACK_FORMATS)[number];

export const NAMING_PLACEHOLDERS = ['channel', 'package', 'versionName', 'versionCode', 'label', 'md5', 'sha256'] as const;
export type NamingPlaceholder = (typeof NAMING_PLACEHOLDERS)[number];
export const DEFAULT_NAMING = '{package}-{versionName}-{channel}.apk';

const placeholderList = NAMING_PLACEHOLDERS.map((name) => `{${name}}`).join(' ');

export const NamingTemplateSchema = Type.String({
  title: 'Naming template',
  description: `Output file name template. Placeholders: ${placeholderList}.`,
  minLength: 1,
  maxLength: 255,
  default: DEFAULT_NAMING,
  allOf: [
    noControlCharacters,
    rule({ pattern: '^[^/\\\\]*$' }, 'must be a file name template without "/" or "\\"'),
    rule(
      { pattern: `^([^{}]|\\{(${NAMING_PLACEHOLDERS.join('|')})\\})*$` },
      `may only use the placeholders ${placeholderList}`,
    ),
    rule(
      { pattern: '\\{(channel|md5|sha256)\\}' },
      'must contain {channel}, {md5} or {sha256} so that every channel gets its own file name',
    ),
  ],
  examples: [DEFAULT_NAMING],
});

export const Sha256HexSchema = Type.String({
  description: 'SHA-256 digest as 64 lowercase hex digits.',
  allOf: [rule({ pattern: '^[0-9a-f]{64}$' }, 'must be a SHA-256 digest: 64 lowercase hex digits')],
  examples: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
});

export const Md5HexSchema = Type.String({
  description: 'MD5 digest as 32 lowercase hex digits.',
  allOf: [rule({ pattern: '^[0-9a-f]{32}$' }, 'must be an MD5 digest: 32 lowercase hex digits')],
  examples: ['098f6bcd4621d373cade4e832627b4f6'],
});

/** RFC 3339 date-time with a time zone, e.g. 2025-06-01T12:00:00.000Z. */
export function DateTimeSchema(description: string): TString {
  return Type.String({ format: 'date-time', description, examples: ['2025-06-01T12:00:00.000Z'] });
}

export function ByteCountSchema(description: string): TInteger {
  return Type.Integer({ minimum: 0, description });
}

export const ErrorInfoSchema = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 128, description: 'Stable machine-readable error code.' }),
    message: Type.String({ minLength: 1, maxLength: 4096, description: 'Human-readable reason.' }),
  },
  { title: 'Error', examples: [{ code: 'NO_SIGNING_BLOCK', message: 'master.apk has no APK Signing Block' }] },
);
export type ErrorInfo = Static<typeof ErrorInfoSchema>;
