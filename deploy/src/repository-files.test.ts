// No committed file over 1 MB: big fixtures are generated at test time, vendored schemas stay small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './repo';

const LIMIT = 1024 * 1024;

test('every tracked file is at most 1 MB', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  assert.ok(files.length > 0, 'git lists the repository files');
  const big = files.filter((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).size > LIMIT).map((f) => `${f}: ${statSync(join(ROOT, f)).size} bytes`);
  assert.deepEqual(big, []);
});
