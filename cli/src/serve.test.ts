// `subpack serve` as users run it: the CLI edits the registry, the same binary serves, curl downloads and resumes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { openTestRedis, waitFor, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { apksignerVerify, frameworkResApk, makeTempDir, removeDir, run, standardApk } from '@subpack/testing';

const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');
const URL_KEY = 'cli-url-key';

let redis: TestRedis;
let dir: string;
let server: ChildProcess;
let base: string;
let env: NodeJS.ProcessEnv;

function subpack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

before(async () => {
  redis = openTestRedis();
  dir = await makeTempDir('subpack-cli-serve-');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = { ...process.env, SUBPACK_REDIS_PREFIX: redis.prefix, SUBPACK_SERVE_URL_KEY: URL_KEY, LOG_LEVEL: 'warn' };
  server = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  await waitFor('subpack serve to answer', () => fetch(`${base}/health/ready`).then((r) => r.ok, () => false), 30_000);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill('SIGTERM');
    await exited;
  }
  await redis?.cleanup();
  await removeDir(dir);
});

test('apps and channels from the CLI; a download interrupted in the prefix resumes with curl -C - and verifies', async () => {
  const master = await frameworkResApk();
  const added = await subpack(['serve', 'app', 'add', 'fw', '--master', master, '--format', 'walle', '--extra', 'build=9', '--name', '{channel}-{versionCode}.apk']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal((await subpack(['serve', 'channel', 'add', 'fw', '--channel', 'store,campaign=c1'])).code, 0);
  const listed = JSON.parse((await subpack(['serve', 'channel', 'list', 'fw', '--json'])).stdout) as { id: string; extras: Record<string, string> }[];
  assert.deepEqual(listed.map((c) => [c.id, c.extras]), [['store', { campaign: 'c1' }]]);

  const packed = join(dir, 'packed');
  const p = await subpack(['pack', master, '--out', packed, '--format', 'walle', '--extra', 'build=9', '--channel', 'store,campaign=c1', '--name', 'ref-{channel}.apk', '--quiet']);
  assert.equal(p.code, 0, p.stderr);
  const reference = await readFile(join(packed, 'ref-store.apk'));

  // An interrupted download: the first 10 MB only, well inside the master's prefix.
  const file = join(dir, 'download.apk');
  const url = `${base}/apk/fw/store.apk`;
  await run('curl', ['-sS', '-f', '-r', '0-9999999', '-o', file, url]);
  assert.equal((await stat(file)).size, 10_000_000);
  const resumed = await run('curl', ['-sS', '-f', '-C', '-', '-o', file, '-D', '-', url]);
  assert.match(resumed.stdout, /^HTTP\/1\.1 206/);
  assert.match(resumed.stdout, new RegExp(`content-range: bytes 10000000-${reference.length - 1}/${reference.length}`, 'i'));
  const body = await readFile(file);
  assert.ok(body.equals(reference), 'the resumed download is the packed APK');
  await apksignerVerify(file);
  const head = await run('curl', ['-sS', '-f', '-I', url]);
  assert.match(head.stdout, new RegExp(`etag: "${createHash('sha256').update(body).digest('hex')}"`, 'i'));
  assert.match(head.stdout, /content-disposition: attachment; filename="store-\d+\.apk"/i);
});

test('serve sign makes links a signed app accepts until they expire', async () => {
  const master = await standardApk('v1v2v3');
  assert.equal((await subpack(['serve', 'app', 'add', 'private', '--master', master, '--signed'])).code, 0);
  assert.equal((await subpack(['serve', 'channel', 'add', 'private', '--channel', 'partner'])).code, 0);
  const unsigned = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${base}/apk/private/partner.apk`]);
  assert.equal(unsigned.stdout, '403');
  const link = (await subpack(['serve', 'sign', 'private', 'partner', '--ttl', '10m', '--base', base])).stdout.trim();
  assert.match(link, /\?expires=\d+&sig=[\w-]+$/);
  assert.equal((await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', link])).stdout, '200');
  const tampered = link.replace('/partner.apk', '/other.apk');
  assert.equal((await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', tampered])).stdout, '404');
  assert.equal((await subpack(['serve', 'channel', 'add', 'private', '--channel', 'other'])).code, 0);
  assert.equal((await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', tampered])).stdout, '403');
});

test('bad input to the serve commands is one line naming the problem', async () => {
  const missing = await subpack(['serve', 'app', 'add', 'x', '--master', join(dir, 'missing.apk')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^subpack: master .*missing\.apk does not exist\n$/);
  const unknown = await subpack(['serve', 'channel', 'add', 'no-such-app', '--channel', 'a']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no app "no-such-app"/);
  const sub = await subpack(['serve', 'app', 'rename']);
  assert.equal(sub.code, 2);
  assert.match(sub.stderr, /serve app takes one of add, list, remove, not "rename"/);
  const noKey = await new Promise<{ code: number; stderr: string }>((done) => {
    execFile(process.execPath, [BIN, 'serve', 'sign', 'a', 'b'], { env: { ...env, SUBPACK_SERVE_URL_KEY: '' } }, (err, _out, stderr) => done({ code: err ? Number(err.code) : 0, stderr }));
  });
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /needs SUBPACK_SERVE_URL_KEY/);
  // No link for what the server would answer 404 to.
  assert.equal((await subpack(['serve', 'app', 'add', 'signme', '--master', await standardApk('v1v2v3'), '--signed'])).code, 0);
  const noChannel = await subpack(['serve', 'sign', 'signme', 'not-added']);
  assert.equal(noChannel.code, 2);
  assert.equal(noChannel.stdout, '');
  assert.match(noChannel.stderr, /^subpack: app "signme" has no channel "not-added"; add it first \(subpack serve channel add\)\n$/);
  const noApp = await subpack(['serve', 'sign', 'no-such-app', 'a']);
  assert.equal(noApp.code, 2);
  assert.equal(noApp.stdout, '');
  assert.match(noApp.stderr, /no app "no-such-app"/);
});
