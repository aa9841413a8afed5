import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withCatalogueEvents } from './asyncapi-events';
import { schemaDocument, schemaFileName, SCHEMA_NAMES } from './schemas/catalog';

/** libs/contracts/schemas, seen from dist/ (this file compiles to dist/emit-schemas.js). */
export const SCHEMAS_DIR = resolve(__dirname, '..', 'schemas');
export const EMIT_COMMAND = 'node libs/contracts/dist/emit-schemas.js';
export const ASYNCAPI_FILE = resolve(__dirname, '..', 'asyncapi.yaml');

/** File name -> exact file content, for every catalogued schema. */
export function renderSchemaFiles(): Map<string, string> {
  return new Map(SCHEMA_NAMES.map((name) => [schemaFileName(name), `${JSON.stringify(schemaDocument(name), null, 2)}\n`]));
}

/** Writes the schema files and removes stale ones, so the directory holds exactly the catalog. */
export function emitSchemas(dir: string = SCHEMAS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderSchemaFiles();
  for (const existing of readdirSync(dir)) {
    if (existing.endsWith('.schema.json') && !files.has(existing)) rmSync(join(dir, existing));
  }
  for (const [fileName, content] of files) writeFileSync(join(dir, fileName), content);
  return [...files.keys()];
}

if (require.main === module) {
  const written = emitSchemas();
  writeFileSync(ASYNCAPI_FILE, withCatalogueEvents(readFileSync(ASYNCAPI_FILE, 'utf8')));
  console.log(`wrote ${written.length} schema files to ${SCHEMAS_DIR} and the event channels and messages of ${ASYNCAPI_FILE}`);
}
