import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { BIN, runCli, type CliRun } from './run-cli';

let redis: TestRedis;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'subpack-api-user-'));
const passwordFile = join(dir, 'password');
const PASSWORD = 'a long enough password';

before(() => {
  redis = openTestRedis();
  env = { SUBPACK_REDIS_PREFIX: redis.prefix };
  writeFileSync(passwordFile, `${PASSWORD}\n`);
});

after(async () => redis.cleanup());

/** The CLI with `input` on its stdin, as a password manager's pipe gives it. */
function runWithStdin(args: readonly string[], input: string): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

test('api user add, list, role and remove edit the API users in Redis', async () => {
  const added = await runCli(['api', 'user', 'add', 'root', '--role', 'admin', '--password-file', passwordFile], { env });
  assert.deepEqual([added.code, added.stdout], [0, 'created user root (admin)\n'], added.stderr);
  const piped = await runWithStdin(['api', 'user', 'add', 'ops', '--role', 'operator'], `${PASSWORD}\n`);
  assert.deepEqual([piped.code, piped.stdout], [0, 'created user ops (operator)\n'], piped.stderr);

  const listed = await runCli(['api', 'user', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(rows.map((r) => [r['name'], r['role'], r['createdBy']?.toString().startsWith('cli:')]), [
    ['ops', 'operator', true],
    ['root', 'admin', true],
  ]);
  assert.doesNotMatch(listed.stdout, /scrypt|passwordHash|stamp/);

  const demoted = await runCli(['api', 'user', 'role', 'root', 'viewer'], { env });
  assert.equal(demoted.code, 2);
  assert.match(demoted.stderr, /^subpack: user "root" is the only enabled admin; make another user admin first\n$/);
  assert.equal((await runCli(['api', 'user', 'role', 'ops', 'admin'], { env })).stdout, 'user ops is now admin\n');
  assert.equal((await runCli(['api', 'user', 'remove', 'root'], { env })).stdout, 'removed user root\n');
  const human = await runCli(['api', 'user', 'list'], { env });
  assert.match(human.stdout, /^ops {2}admin {2}created \S+ by cli:\S+, never logged in\n$/);
});

test('a password is never taken from the command line, and a weak one is refused without being shown', async () => {
  const onArgv = await runCli(['api', 'user', 'add', 'eve', '--role', 'viewer', '--password', PASSWORD], { env });
  assert.equal(onArgv.code, 2);
  assert.match(onArgv.stderr, /Unknown option '--password'/);
  const weak = await runWithStdin(['api', 'user', 'add', 'eve', '--role', 'viewer'], 'hunter2\n');
  assert.equal(weak.code, 2);
  assert.equal(weak.stderr, 'subpack: the password is 7 characters long; use at least 10\n');
  const missing = await runCli(['api', 'user', 'add', 'eve', '--role', 'viewer', '--password-file', join(dir, 'nope')], { env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file or directory/);
  const noRole = await runCli(['api', 'user', 'add', 'eve', '--password-file', passwordFile], { env });
  assert.deepEqual([noRole.code, noRole.stderr], [2, 'subpack: api user add needs --role admin, operator or viewer\n']);
  const unknown = await runCli(['api', 'user', 'remove', 'nobody'], { env });
  assert.deepEqual([unknown.code, unknown.stderr], [2, 'subpack: no user "nobody"\n']);
});
