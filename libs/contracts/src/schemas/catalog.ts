import type { TSchema } from '@sinclair/typebox';
import { AuditRecordSchema } from './audit';
import { ChannelStoreJobSchema } from './channel-store-job';
import { EVENT_SCHEMA_CATALOG } from './events';
import { NotifyDeliverySchema, NotifySubscriptionSchema } from './notify';
import { FailureHeadersSchema } from './failure-headers';
import { PackBatchSchema } from './pack-batch';
import { ChannelSchema, PackTaskSchema } from './pack-task';

/** Every schema published as a file under libs/contracts/schemas, by file base name. */
export const SCHEMA_CATALOG = {
  'pack-task': PackTaskSchema,
  channel: ChannelSchema,
  'notify-subscription': NotifySubscriptionSchema,
  'pack-batch': PackBatchSchema,
  'channel-store-job': ChannelStoreJobSchema,
  ...EVENT_SCHEMA_CATALOG,
  'notify-delivery': NotifyDeliverySchema,
  'failure-headers': FailureHeadersSchema,
  'audit-record': AuditRecordSchema,
} as const satisfies Record<string, TSchema>;
export type SchemaName = keyof typeof SCHEMA_CATALOG;
export const SCHEMA_NAMES = Object.keys(SCHEMA_CATALOG) as SchemaName[];

export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';
export const SCHEMA_ID_BASE = 'https://subpack.dev/schemas/';

export type JsonSchemaDocument = { readonly $schema: string; readonly $id: string } & Record<string, unknown>;

export function schemaFileName(name: SchemaName): string {
  return `${name}.schema.json`;
}

export function schemaId(name: SchemaName): string {
  return `${SCHEMA_ID_BASE}${schemaFileName(name)}`;
}

/**
 * The standalone JSON Schema document for one message: plain JSON (TypeBox's symbol markers dropped), with $schema
 * and $id. Validators compile exactly this, so what we validate is what we publish.
 */
export function schemaDocument(name: SchemaName): JsonSchemaDocument {
  const plain = toPlainJson(SCHEMA_CATALOG[name]);
  return { $schema: JSON_SCHEMA_DIALECT, $id: schemaId(name), ...readableKeyOrder(plain) };
}

function toPlainJson(value: unknown): Record<string, unknown> {
  const plain: unknown = JSON.parse(JSON.stringify(value));
  return plain as Record<string, unknown>;
}

// TypeBox puts options first and `properties` after `required`; readers of the files expect title/description
// first and the (long) examples last. Order only: the schema's meaning is unchanged.
const LEADING_KEYS = ['title', 'description', 'type'];
const TRAILING_KEYS = ['examples'];
const LITERAL_KEYWORDS = new Set(['examples', 'default', 'enum', 'const']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties']);

function keyRank(key: string): number {
  if (LEADING_KEYS.includes(key)) return LEADING_KEYS.indexOf(key) - LEADING_KEYS.length;
  return TRAILING_KEYS.includes(key) ? 1 : 0;
}

function readableKeyOrder(schema: Record<string, unknown>): Record<string, unknown> {
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(schema).sort((a, b) => keyRank(a) - keyRank(b))) {
    const value = schema[key];
    if (LITERAL_KEYWORDS.has(key)) ordered[key] = value;
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isRecord(value)) ordered[key] = mapValues(value, orderSubschemas);
    else ordered[key] = orderSubschemas(value);
  }
  return ordered;
}

function orderSubschemas(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(orderSubschemas);
  return isRecord(value) ? readableKeyOrder(value) : value;
}

function mapValues(map: Record<string, unknown>, transform: (value: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, transform(value)]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
