// The README shows receivers how to verify a signature in Node and Python; both snippets are run here against what the
// notifier sends, so the documentation cannot drift from the signing code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { standardWebhooksHeaders } from './signing';

const README = readFileSync(join(resolve(__dirname, '..', '..', '..'), 'README.md'), 'utf8');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BODY = '{"id":"task.completed:t1","type":"task.completed","note":"签名 ✓"}';

function snippet(language: string): string {
  const start = README.indexOf('Verifying the signature in Node');
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(README.slice(start));
  assert.ok(start >= 0 && match, `README has a ${language} verifier after "Verifying the signature in Node"`);
  return match[1]!;
}

describe('README signature verifiers', () => {
  const headers = standardWebhooksHeaders('msg_42', Math.floor(Date.now() / 1000), BODY, SECRET);
  const stale = standardWebhooksHeaders('msg_42', Math.floor(Date.now() / 1000) - 3600, BODY, SECRET);

  it('the Node snippet accepts our signature and rejects a changed body or an old timestamp', () => {
    const verify = runInNewContext(`${snippet('js')}; verify`, { require, Buffer }) as (secret: string, headers: Record<string, string>, body: string) => boolean;
    assert.equal(verify(SECRET, headers, BODY), true);
    assert.equal(verify(SECRET, headers, BODY.replace('t1', 't2')), false);
    assert.equal(verify(SECRET, stale, BODY), false);
  });

  it('the Python snippet does the same', () => {
    const program = `${snippet('python')}
import json, sys
cases = json.load(sys.stdin)
print(json.dumps([verify(c["secret"], c["headers"], c["body"].encode()) for c in cases]))
`;
    const cases = [
      { secret: SECRET, headers, body: BODY },
      { secret: SECRET, headers, body: BODY.replace('t1', 't2') },
      { secret: SECRET, headers: stale, body: BODY },
    ];
    const output = execFileSync('python3', ['-c', program], { input: JSON.stringify(cases), encoding: 'utf8' });
    assert.deepEqual(JSON.parse(output), [true, false, false]);
  });
});
