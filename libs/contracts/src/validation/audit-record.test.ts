import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { API_ROLES } from '@subpack/rules';
import { SCHEMAS_DIR } from '../emit-schemas';
import { AuditRecordSchema, type AuditRecord } from '../schemas/audit';
import { schemaFileName } from '../schemas/catalog';
import { auditRecordMessageId } from '../topology/message-properties';
import { validateAuditRecord } from './validators';

const [operator, anonymous] = AuditRecordSchema.examples as [AuditRecord, AuditRecord];

function errorsOf(body: unknown): string[] {
  const result = validateAuditRecord(body);
  return result.ok ? [] : result.errors;
}

describe('validateAuditRecord', () => {
  it('accepts the documented examples: an operator\'s write and an anonymous refusal', () => {
    assert.deepEqual(errorsOf(operator), []);
    assert.deepEqual(errorsOf(anonymous), []);
    assert.equal(anonymous.role, null);
    for (const role of API_ROLES) assert.deepEqual(errorsOf({ ...operator, role }), [], role);
  });

  it('rejects a role the API does not have', () => {
    assert.deepEqual(errorsOf({ ...operator, role: 'root' }), ['role: must be one of viewer, operator, admin']);
    assert.deepEqual(errorsOf({ ...operator, role: undefined }), ['role: is required']);
  });

  it('carries nothing but its fields: a body, header or secret cannot ride along', () => {
    assert.deepEqual(errorsOf({ ...operator, password: 'hunter2' }), ['unknown field "password"']);
    assert.deepEqual(errorsOf({ ...operator, body: { name: 'ops' } }), ['unknown field "body"']);
  });

  it('records writes only, under their URL path', () => {
    assert.deepEqual(errorsOf({ ...operator, method: 'GET' }), ['method: must be one of POST, PUT, PATCH, DELETE']);
    assert.deepEqual(errorsOf({ ...operator, path: '/api/v1/tasks/a b' }), ['path: must be a URL path (starting with "/", percent-encoded)']);
    assert.deepEqual(errorsOf({ ...operator, seq: 0 }), ['seq: must be >= 1']);
  });

  it('is published as a file a consumer in another language can use on its own', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS_DIR, schemaFileName('audit-record')), 'utf8')) as object);
    assert.equal(validate(anonymous), true);
    assert.equal(validate({ ...anonymous, role: 'root' }), false);
  });
});

describe('auditRecordMessageId', () => {
  it('is the same for every copy of a record, and differs when a restarted counter repeats a number', () => {
    assert.equal(auditRecordMessageId(operator), 'audit.recorded:1042:2025-06-01T12:00:30.000Z');
    assert.equal(auditRecordMessageId({ ...operator }), auditRecordMessageId(operator));
    assert.notEqual(auditRecordMessageId({ ...operator, at: '2025-07-01T08:00:00.000Z' }), auditRecordMessageId(operator));
  });
});
