import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { withCatalogueEvents } from './asyncapi-events';
import { ASYNCAPI_FILE, EMIT_COMMAND, emitSchemas, renderSchemaFiles, SCHEMAS_DIR } from './emit-schemas';
import { PACK_TASK_EXAMPLE } from './schemas/pack-task';

describe('checked-in schema files', () => {
  it('equal what the emitter produces now', () => {
    const expected = renderSchemaFiles();
    const onDisk = readdirSync(SCHEMAS_DIR).filter((file) => file.endsWith('.schema.json'));
    assert.deepEqual(onDisk.sort(), [...expected.keys()].sort(), `schema files are stale; run \`${EMIT_COMMAND}\``);
    for (const [file, content] of expected) {
      assert.equal(
        readFileSync(join(SCHEMAS_DIR, file), 'utf8'),
        content,
        `${file} differs from the TypeBox source; run \`${EMIT_COMMAND}\` and commit the result`,
      );
    }
  });

  it('are enough on their own: a plain validator using only the file accepts and rejects tasks', () => {
    // What a Python or Go publisher does: load the JSON file, no TypeBox, no project code.
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'pack-task.schema.json'), 'utf8')) as object);
    assert.equal(validate(PACK_TASK_EXAMPLE), true);
    assert.equal(validate({ ...PACK_TASK_EXAMPLE, channels: [{ id: '../escape' }] }), false);
    assert.equal(validate({ ...PACK_TASK_EXAMPLE, chanels: [] }), false);
  });
});

describe('asyncapi.yaml event channels and messages', () => {
  it('are the ones the event catalogue generates', () => {
    const onDisk = readFileSync(ASYNCAPI_FILE, 'utf8');
    assert.equal(withCatalogueEvents(onDisk), onDisk, `asyncapi.yaml's events differ from the catalogue; run \`${EMIT_COMMAND}\``);
  });

  it('follow the catalogue: a removed event type is dropped, a changed example is rewritten', () => {
    const onDisk = readFileSync(ASYNCAPI_FILE, 'utf8');
    const withExtra = onDisk.replace(
      /^channels:\n/m,
      "channels:\n  oldThingEvent:\n    address: event.old.thing\n    messages:\n      oldThing:\n        $ref: '#/components/messages/oldThing'\n",
    );
    assert.notEqual(withExtra, onDisk);
    const edited = withExtra.replace('taskId: release-2025-06-01.43', 'taskId: hand-edited');
    assert.equal(withCatalogueEvents(edited), onDisk);
  });
});

describe('emitSchemas', () => {
  it('writes every schema and removes stale schema files, leaving other files alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-schemas-'));
    try {
      writeFileSync(join(dir, 'old-message.schema.json'), '{}');
      writeFileSync(join(dir, 'README.txt'), 'keep me');
      const written = emitSchemas(dir);
      assert.deepEqual(readdirSync(dir).sort(), [...written, 'README.txt'].sort());
      const packTask = JSON.parse(readFileSync(join(dir, 'pack-task.schema.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(packTask.$id, 'https://subpack.dev/schemas/pack-task.schema.json');
      assert.equal(packTask.$schema, 'http://json-schema.org/draft-07/schema#');
      assert.equal(packTask.title, 'PackTask');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
