import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { NEEDS } from './preflight';

/** Runs preflight in a child process (it exits on a missing need) with needs written as JavaScript. */
function runPreflight(needs: string): { status: number | null; stderr: string; stdout: string } {
  const module = JSON.stringify(join(__dirname, 'preflight.js'));
  const script = `require(${module}).preflight('bench:x', [${needs}]).then(() => console.log('ran'))`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

const need = (name: string, present: boolean): string =>
  `[{ name: '${name}', present: async () => ${present}, hint: 'get ${name} somewhere' }]`;

test('a bench whose needs are all there says so in one line and runs', () => {
  const { status, stderr, stdout } = runPreflight(`${need('nginx', true)}, ${need('Redis', true)}`);
  assert.equal(status, 0);
  assert.equal(stderr, 'bench:x: needs nginx, Redis: all present\n');
  assert.equal(stdout, 'ran\n');
});

test('a missing need that cannot be installed stops the bench with one line naming it, no stack trace', () => {
  const { status, stderr, stdout } = runPreflight(`${need('nginx', false)}, ${need('Redis', true)}`);
  assert.equal(status, 1);
  assert.equal(stderr, 'bench:x: cannot run, missing nginx (get nginx somewhere)\n');
  assert.equal(stdout, '');
});

test('the real needs of the benchmarks are checkable here: the Android tools the suite builds APKs with are present', async () => {
  for (const n of NEEDS.android) assert.equal(await n.present(), true, n.name);
});
