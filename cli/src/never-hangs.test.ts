import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { EXIT_BROKEN_PIPE } from './main';
import { runCli, type CliRun } from './run-cli';

let dir: string;
let task: string;
let refusedPort: number;
/** Accepts connections and never answers: a broker or Redis that hangs, or a firewall that swallows replies. */
let blackHole: Server;
let blackHolePort: number;
const sockets = new Set<Socket>();

async function listen(server: Server): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return (server.address() as { port: number }).port;
}

before(async () => {
  dir = await makeTempDir('subpack-never-hangs-');
  task = join(dir, 'task.json');
  await writeFile(task, JSON.stringify({ taskId: 'never-hangs', master: 'file:///m.apk', target: 'file:///out/', channels: [{ id: 'a' }] }));
  // A port nothing listens on: taken, then released.
  const closed = createServer();
  refusedPort = await listen(closed);
  await new Promise((ok) => closed.close(ok));
  blackHole = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  blackHolePort = await listen(blackHole);
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((ok) => blackHole.close(ok));
  await removeDir(dir);
});

function assertGaveUp(r: CliRun, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit 1 expected, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /s3cret|\n\s+at /, 'no password, no stack');
}

describe('broker commands give up in bounded time, naming the dependency', { timeout: 120_000 }, () => {
  test('status with Redis refusing connections', async () => {
    const r = await runCli(['status', 'x', '--broker-timeout', '1'], { env: { REDIS_URL: `redis://user:s3cret@127.0.0.1:${refusedPort}/0` } });
    assertGaveUp(r, new RegExp(`^subpack: cannot reach Redis at redis://127\\.0\\.0\\.1:${refusedPort}/0 within 1 s: .*ECONNREFUSED`));
  });

  test('status with a Redis that accepts and never answers', async () => {
    const r = await runCli(['status', 'x', '--broker-timeout', '1'], { env: { REDIS_URL: `redis://:s3cret@127.0.0.1:${blackHolePort}` } });
    assertGaveUp(r, new RegExp(`^subpack: cannot reach Redis at redis://127\\.0\\.0\\.1:${blackHolePort} within 1 s`));
  });

  test('submit and parked list with RabbitMQ refusing connections, or accepting and never answering', async () => {
    for (const port of [refusedPort, blackHolePort]) {
      const env = { AMQP_URL: `amqp://svc:s3cret@127.0.0.1:${port}/prod` };
      const where = new RegExp(`^subpack: cannot reach RabbitMQ at amqp://127\\.0\\.0\\.1:${port}/prod within 1 s: `);
      assertGaveUp(await runCli(['submit', task, '--broker-timeout', '1'], { env }), where);
      assertGaveUp(await runCli(['parked', 'list', '--broker-timeout=1'], { env }), where);
    }
  });

  test('--broker-timeout takes a positive number of seconds, and a negative one reads as one line', async () => {
    for (const args of [['status', 'x', '--broker-timeout=0'], ['status', 'x', '--broker-timeout', '-5'], ['submit', task, '--timeout', '-5']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /U\+000A|\\n/);
      assert.match(r.stderr, /--(broker-)?timeout/);
    }
  });
});

describe('a reader that goes away ends the command quietly', { timeout: 120_000 }, () => {
  test('pack --json and inspect --entries into a closed pipe exit as SIGPIPE would, with nothing on stderr', async () => {
    const master = await standardApk('v2Only');
    const pack = await runCli(['pack', master, '--out', join(dir, 'out'), '--channel', 'a', '--channel', 'b', '--json'], { closedStdout: true });
    assert.deepEqual({ code: pack.code, stderr: pack.stderr }, { code: EXIT_BROKEN_PIPE, stderr: '' });
    const inspect = await runCli(['inspect', master, '--entries'], { closedStdout: true });
    assert.deepEqual({ code: inspect.code, stderr: inspect.stderr }, { code: EXIT_BROKEN_PIPE, stderr: '' });
  });
});

describe('an output directory the kernel refuses', { timeout: 60_000 }, () => {
  test('pack --out under /proc fails its channel with the reason instead of looping in mkdir', async () => {
    const master = await standardApk('v2Only');
    const r = await runCli(['pack', master, '--out', '/proc/subpack-not-a-place/out', '--channel', 'a']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /channel "a" failed: ENOENT: no such file or directory, mkdir '\/proc\/subpack-not-a-place'/);
  });
});

describe('a master that is not a file is bad input', () => {
  test('a directory and a device, for pack and inspect: one line, exit 2', async () => {
    for (const [master, kind] of [[dir, 'a directory'], ['/dev/zero', 'a device, FIFO or socket']] as const) {
      for (const args of [['pack', master, '--out', join(dir, 'never'), '--channel', 'a'], ['inspect', master]]) {
        const r = await runCli(args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^subpack: .*not a regular file/);
        assert.equal(r.stderr.split('\n').length, 2, r.stderr);
        if (args[0] === 'inspect') assert.equal(r.stderr, `subpack: ${master}: not a regular file (${kind})\n`);
      }
    }
  });
});
