import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonBody, type JsonBodyResult } from './json-body';

function errorOf(result: JsonBodyResult): string {
  assert.equal(result.ok, false, 'expected parsing to fail');
  return result.ok ? '' : result.error;
}

describe('parseJsonBody', () => {
  it('parses a JSON object', () => {
    assert.deepEqual(parseJsonBody(Buffer.from('{"taskId":"t1","channels":[{"id":"a"}]}')), {
      ok: true,
      value: { taskId: 't1', channels: [{ id: 'a' }] },
    });
  });

  it('tolerates a UTF-8 byte order mark', () => {
    assert.deepEqual(parseJsonBody(Buffer.from('\ufeff{"a":"ü"}', 'utf8')), { ok: true, value: { a: 'ü' } });
  });

  it('says the body is empty', () => {
    assert.equal(errorOf(parseJsonBody(Buffer.alloc(0))), 'body is empty; expected a JSON object');
    assert.equal(errorOf(parseJsonBody(Buffer.from(' \n'))), 'body is only whitespace; expected a JSON object');
  });

  it('rejects bytes that are not UTF-8 instead of silently replacing them', () => {
    assert.equal(
      errorOf(parseJsonBody(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))),
      'body is not valid UTF-8 (5 bytes); expected a JSON object',
    );
  });

  it('gives line and column of a syntax error', () => {
    const error = errorOf(parseJsonBody(Buffer.from('{\n  "taskId": "t1"\n  "target": "x"\n}')));
    assert.match(error, /^body is not valid JSON: .+ \(line 3, column 3\)$/);
  });

  it('reports a truncated body', () => {
    assert.equal(errorOf(parseJsonBody(Buffer.from('{"taskId":'))), 'body is not valid JSON: Unexpected end of JSON input');
  });

  it('escapes control characters from the body in the error', () => {
    const error = errorOf(parseJsonBody(Buffer.from('{"a":\u0007}')));
    // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
    assert.ok(!/[\u0000-\u001f]/.test(error), error);
    assert.match(error, /\\u0007/);
  });
});
