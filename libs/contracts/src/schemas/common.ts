import { Type, type TInteger, type TString } from '@sinclair/typebox';
import {
  CHANNEL_ID_MAX_BYTES,
  DEFAULT_NAMING,
  DEFAULT_PACK_FORMAT,
  DISTINGUISHING_PLACEHOLDERS,
  EXTRA_KEY_MAX_BYTES,
  EXTRAS_MAX_BYTES,
  EXTRAS_MAX_KEYS,
  FILE_NAME_MAX_BYTES,
  FILE_NAME_SEGMENT_MAX_BYTES,
  NAMING_PLACEHOLDERS,
  NAMING_TEMPLATE_MAX_BYTES,
  PACK_FORMATS,
  PLACEHOLDER_LIST,
  RESERVED_EXTRA_KEYS,
  TASK_ID_MAX_LENGTH,
  TASK_ID_PATTERN,
  TASK_ID_RULE,
} from '@subpack/rules';
import { noControlCharacters, noOuterWhitespace, pathSegmentRules, relativePathRules, rule, StringEnum } from './rules';

// Limits in the rules module count UTF-8 bytes. JSON Schema's maxLength counts code points, so a schema carries the
// same number as a code-point upper bound (every code point is at least one byte) and says that the byte cap, and the
// invisible characters outside the Basic Multilingual Plane, are applied by the validator (validatePackTask & co.).
const BYTES_NOTE = 'The limit counts UTF-8 bytes; maxLength here is the code-point upper bound and the validator applies the byte cap.';

// Building blocks shared by several messages. They carry no $id: they are inlined into every message schema, so each
// emitted schema file is self-contained for publishers in other languages.

export const TaskIdSchema = Type.String({
  title: 'Task id',
  description: 'Caller-chosen id of a pack task. Resending a task with the same id is the same task (idempotent).',
  minLength: 1,
  maxLength: TASK_ID_MAX_LENGTH,
  allOf: [rule({ pattern: TASK_ID_PATTERN }, TASK_ID_RULE)],
  examples: ['release-2025-06-01.42'],
});

export const MasterUrlSchema = Type.String({
  title: 'Master APK URL',
  description: 'Storage URL of the signed master APK: file:///abs/path.apk, s3://bucket/key or oss://bucket/key.',
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
  description: 'Storage URL prefix the channel APKs are written under: file:///abs/dir/, s3://bucket/prefix/ or oss://bucket/prefix/.',
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
  description:
    `Channel id written into the APK. It also names the output file, so it must be a safe path segment: at most ` +
    `${CHANNEL_ID_MAX_BYTES} bytes, no control or invisible (zero-width, bidi) characters, no leading or trailing ` +
    `whitespace. ${BYTES_NOTE}`,
  minLength: 1,
  maxLength: CHANNEL_ID_MAX_BYTES,
  allOf: [...pathSegmentRules, noOuterWhitespace],
  examples: ['huawei'],
});

export const ExtrasSchema = Type.Unsafe<Record<string, string>>({
  title: 'Extras',
  description:
    'Extra string key/value pairs written next to the channel id (Walle/VasDolly extras). The task-level extras ' +
    `merged with a channel's own may hold at most ${EXTRAS_MAX_KEYS} keys and ${EXTRAS_MAX_BYTES} bytes of keys and ` +
    `values together (UTF-8); a key is at most ${EXTRA_KEY_MAX_BYTES} bytes and "${RESERVED_EXTRA_KEYS.join('", "')}" ` +
    'is reserved. The merged and byte limits are applied by the validator.',
  type: 'object',
  maxProperties: EXTRAS_MAX_KEYS,
  propertyNames: {
    minLength: 1,
    maxLength: EXTRA_KEY_MAX_BYTES,
    allOf: [noControlCharacters, noOuterWhitespace, rule({ not: { enum: [...RESERVED_EXTRA_KEYS] } }, 'is reserved for the channel id')],
  },
  additionalProperties: { type: 'string', maxLength: EXTRAS_MAX_BYTES, allOf: [noControlCharacters] },
  examples: [{ campaign: 'spring' }],
});

export const PackFormatSchema = StringEnum(PACK_FORMATS, {
  title: 'Channel format',
  description:
    'Where the channel id is written: auto (pick from the master), walle or vasdolly (APK Signing Block), ' +
    'v1-comment (ZIP comment), meta-inf (META-INF entry, v1-only APKs).',
  default: DEFAULT_PACK_FORMAT,
  examples: ['walle'],
});

export const UPLOAD_MODES = ['compose', 'stream'] as const;
export const UploadModeSchema = StringEnum(UPLOAD_MODES, {
  title: 'Upload mode',
  description:
    'How channel APKs reach an s3:// or oss:// target: compose (default) builds each one inside the store from a ' +
    'server-side copy of the master\'s prefix plus the tail, falling back to stream where the store cannot; stream ' +
    'always uploads master[0:k] and the tail from the uploader. Ignored for file:// targets.',
  default: 'compose',
  examples: ['stream'],
});

export const NamingTemplateSchema = Type.String({
  title: 'Naming template',
  description:
    `Output name template, relative to the target. Placeholders: ${PLACEHOLDER_LIST}. "/" creates subdirectories ` +
    '(object keys with "/" in object stores); no segment may be empty, "." or "..", so every name stays inside the ' +
    `target. Rendered names are checked per path segment (at most ${FILE_NAME_SEGMENT_MAX_BYTES} bytes) and in ` +
    `total (at most ${FILE_NAME_MAX_BYTES} bytes) before any work starts. ${BYTES_NOTE}`,
  minLength: 1,
  maxLength: NAMING_TEMPLATE_MAX_BYTES,
  default: DEFAULT_NAMING,
  allOf: [
    ...relativePathRules,
    rule(
      { pattern: `^([^{}]|\\{(${NAMING_PLACEHOLDERS.join('|')})\\})*$` },
      `may only use the placeholders ${PLACEHOLDER_LIST}`,
    ),
    rule(
      { pattern: `\\{(${DISTINGUISHING_PLACEHOLDERS.join('|')})\\}` },
      'must contain {channel}, {md5} or {sha256} so that every channel gets its own file name',
    ),
  ],
  examples: [DEFAULT_NAMING, '{package}/{versionName}/{channel}.apk'],
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

/** Longest human-readable reason a message carries (error messages, failure headers, event reasons). */
export const REASON_MAX_LENGTH = 4096;

/** A reason cut to REASON_MAX_LENGTH, never empty. */
export function reasonText(reason: string): string {
  return reason.slice(0, REASON_MAX_LENGTH) || 'unknown error';
}

export const ErrorInfoSchema = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 128, description: 'Stable machine-readable error code.' }),
    message: Type.String({ minLength: 1, maxLength: REASON_MAX_LENGTH, description: 'Human-readable reason.' }),
  },
  { title: 'Error', examples: [{ code: 'NO_SIGNING_BLOCK', message: 'master.apk has no APK Signing Block' }] },
);
