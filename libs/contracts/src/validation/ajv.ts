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
