import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { schemaDocument, type SchemaName } from '../schemas/catalog';
import { ERROR_MESSAGE_KEYWORD } from '../schemas/rules';

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

function sharedAjv(): Ajv {
  if (ajv === undefined) {
    // allErrors: report every bad field at once; verbose: errors carry parentSchema, where rule messages live.
    ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    addFormats(ajv);
    ajv.addKeyword({ keyword: ERROR_MESSAGE_KEYWORD, schemaType: 'string' });
  }
  return ajv;
}

/** The compiled validator for one catalogued schema; compiled on first use, then reused. */
export function compiledValidator(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (validate === undefined) {
    validate = sharedAjv().compile(schemaDocument(name));
    compiled.set(name, validate);
  }
  return validate;
}

const compiledSchemas = new WeakMap<object, ValidateFunction>();
const compiledCoercing = new WeakMap<object, ValidateFunction>();
let coercingAjv: Ajv | undefined;

/**
 * A validator for a schema outside the message catalogue (the HTTP API's request and response bodies), compiled by
 * the same Ajv with the same rule messages, so a field breaks the same rule with the same words everywhere. `coerce`
 * is for URL query strings, whose values arrive as text: numbers and booleans are converted, defaults filled in.
 */
export function compiledSchemaValidator(schema: object, options: { coerce?: boolean } = {}): ValidateFunction {
  const cache = options.coerce === true ? compiledCoercing : compiledSchemas;
  let validate = cache.get(schema);
  if (validate === undefined) {
    const ajvFor = options.coerce === true ? queryAjv() : sharedAjv();
    validate = ajvFor.compile(JSON.parse(JSON.stringify(schema)) as object);
    cache.set(schema, validate);
  }
  return validate;
}

function queryAjv(): Ajv {
  if (coercingAjv === undefined) {
    coercingAjv = new Ajv({ allErrors: true, verbose: true, strict: true, coerceTypes: true, useDefaults: true });
    addFormats(coercingAjv);
    coercingAjv.addKeyword({ keyword: ERROR_MESSAGE_KEYWORD, schemaType: 'string' });
  }
  return coercingAjv;
}
