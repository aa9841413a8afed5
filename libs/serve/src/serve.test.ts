import 'reflect-metadata';
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { prefixLengthFor, readApkLayout } from '@subpack/apk';
import type { PackFormat as ChannelFormat } from '@subpack/rules';
import { createLogger } from '@subpack/runtime';
import { TaskStore } from '@subpack/state';
import { StorageRoots, openLocalFile } from '@subpack/storage';
import { openTestRedis, TEST_REDIS_URL, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { apksignerVerify, frameworkResApk, largeApk, makeTempDir, removeDir, standardApks, startMoto, type MotoServer, type StandardApks } from '@subpack/testing';
import { signedQuery } from './signed-url';
import { ServeModule } from './serve.module';

const SUBPACK = resolve(__dirname, '..', '..', '..', 'cli', 'bin', 'subpack.js');
const ADMIN_TOKEN = 'admin-secret';
const URL_KEY = 'url-key';

interface Packed {
  file: string;
  bytes: Buffer;
  sha256: string;
}

/** `subpack pack` for one channel, through the real CLI: the reference every served byte is compared with. */
function pack(master: string, out: string, format: ChannelFormat, channel: string, extras: string[] = []): Promise<Packed> {
  const args = [SUBPACK, 'pack', master, '--out', out, '--format', format, '--channel', channel, '--json', ...extras.flatMap((e) => ['--extra', e])];
  return new Promise((resolvePacked, reject) => {
    execFile(process.execPath, args, (err, stdout, stderr) => {
      if (err) return reject(new Error(`subpack pack failed: ${stderr}`));
      const line = JSON.parse(stdout.trim()) as { file: string; sha256: string };
      readFile(line.file).then((bytes) => resolvePacked({ file: line.file, sha256: line.sha256, bytes }), reject);
    });
  });
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let port: number;

function http(method: string, path: string, headers: Record<string, string> = {}, body?: unknown, at = port): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      { host: '127.0.0.1', port: at, method, path, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveReply({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const admin = (method: string, path: string, body?: unknown) => http(method, `/admin/apps${path}`, { authorization: `Bearer ${ADMIN_TOKEN}` }, body);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const apkPath = (app: string, channel: string) => `/apk/${encodeURIComponent(app)}/${encodeURIComponent(channel)}.apk`;

let apks: StandardApks;
let dir: string;
let redis: TestRedis;
let app: INestApplication;

before(async () => {
  apks = await standardApks();
  dir = await makeTempDir('subpack-serve-');
  redis = openTestRedis();
  app = await NestFactory.create(
    ServeModule.forRoot({
      redis: redis.redis,
      redisPrefix: redis.prefix,
      store: new TaskStore(redis.redis, { keyPrefix: redis.prefix }),
      config: { adminToken: ADMIN_TOKEN, urlKey: URL_KEY, maxAgeSeconds: 600, masterRoots: undefined },
      logger: createLogger('serve-test', 'silent'),
    }),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
});

after(async () => {
  await app?.close();
  await redis?.cleanup();
  await removeDir(dir);
});

describe('byte-identical to subpack pack for every format', () => {
  const cases: { name: string; master: keyof StandardApks; format: ChannelFormat; channel: string; appExtras: string[]; channelExtras: string }[] = [
    { name: 'walle', master: 'v2Only', format: 'walle', channel: 'huawei', appExtras: ['build=42'], channelExtras: 'campaign=spring' },
    { name: 'vasdolly', master: 'v1v2v3', format: 'vasdolly', channel: 'xiaomi', appExtras: [], channelExtras: '' },
    { name: 'auto-verity', master: 'verity', format: 'auto', channel: 'oppo', appExtras: [], channelExtras: 'k=v' },
    { name: 'v1-comment', master: 'v1Only', format: 'v1-comment', channel: 'vivo', appExtras: [], channelExtras: '' },
    { name: 'meta-inf', master: 'v1Only', format: 'meta-inf', channel: 'baidu', appExtras: ['build=7'], channelExtras: 'partner=p1' },
    { name: 'chinese', master: 'chinese', format: 'auto', channel: '应用宝', appExtras: [], channelExtras: '渠道=测试' },
  ];
  for (const c of cases) {
    test(`${c.name}: whole body, ranges in the prefix, across the boundary and in the tail, ETag = SHA-256`, async () => {
      const master = apks[c.master];
      const extras = Object.fromEntries(c.appExtras.map((e) => e.split('=') as [string, string]));
      assert.equal((await admin('PUT', `/${c.name}`, { master: pathToFileURL(master).href, format: c.format, extras })).status, 200);
      const added = await admin('POST', `/${c.name}/channels`, { list: [c.channel, c.channelExtras].filter(Boolean).join(',') });
      assert.equal(added.status, 201, added.body.toString());
      const packed = await pack(master, join(dir, c.name), c.format, [c.channel, c.channelExtras].filter(Boolean).join(','), c.appExtras);
      const size = packed.bytes.length;
      const k = prefixLengthFor(await readApkLayout(await openLocalFile(master)), c.format);
      // The v1 comment's tail is only the EOCD, so ranges inside the tail are sized to it.
      const t = Math.min(100, Math.floor((size - k) / 2));
      assert.ok(k > 200 && t >= 10, 'the prefix and the tail are both big enough to range inside');

      const whole = await http('GET', apkPath(c.name, c.channel));
      assert.equal(whole.status, 200);
      assert.ok(whole.body.equals(packed.bytes), 'the served APK is the packed APK');
      assert.equal(whole.headers.etag, `"${sha256(whole.body)}"`);
      assert.equal(whole.headers.etag, `"${packed.sha256}"`);
      assert.equal(whole.headers['content-length'], String(size));
      assert.equal(whole.headers['accept-ranges'], 'bytes');
      assert.equal(whole.headers['content-type'], 'application/vnd.android.package-archive');
      assert.equal(whole.headers['cache-control'], 'public, max-age=600');
      assert.ok(Date.parse(whole.headers['last-modified']!) > 0);
      const disposition = whole.headers['content-disposition']!;
      const name = basename(packed.file);
      if (/^[\x20-\x7e]+$/.test(name)) assert.equal(disposition, `attachment; filename="${name}"`);
      else assert.equal(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)![1]!), name);
      const served = join(dir, `${c.name}-served.apk`);
      await writeFile(served, whole.body);
      await apksignerVerify(served);

      const ranges: [string, number, number][] = [
        ['inside the prefix', 100, k - 101],
        ['across the boundary', k - 100, k + t - 1],
        ['inside the tail', k + t, size - 1],
        ['first byte of the tail', k, k],
      ];
      for (const [where, start, end] of ranges) {
        const r = await http('GET', apkPath(c.name, c.channel), { range: `bytes=${start}-${end}` });
        assert.equal(r.status, 206, where);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`, where);
        assert.equal(r.headers['content-length'], String(end - start + 1), where);
        assert.ok(r.body.equals(packed.bytes.subarray(start, end + 1)), `bytes ${where}`);
      }
      const suffix = await http('GET', apkPath(c.name, c.channel), { range: 'bytes=-300' });
      assert.ok(suffix.body.equals(packed.bytes.subarray(size - 300)));

      const head = await http('HEAD', apkPath(c.name, c.channel));
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['content-length'], String(size));
      assert.equal(head.headers.etag, whole.headers.etag);
    });
  }
});

describe('HTTP semantics on a served APK', () => {
  let size: number;
  let etag: string;
  let bytes: Buffer;
  before(async () => {
    await admin('PUT', '/sem', { master: pathToFileURL(apks.v2Only).href });
    await admin('POST', '/sem/channels', { channels: [{ id: 'c1' }] });
    const r = await http('GET', apkPath('sem', 'c1'));
    size = r.body.length;
    etag = r.headers.etag!;
    bytes = r.body;
  });

  test('404 for an unknown app, an unknown channel and a path that is not an APK', async () => {
    const noApp = await http('GET', apkPath('nope', 'c1'));
    assert.equal(noApp.status, 404);
    assert.match(noApp.body.toString(), /no such app/);
    const noChannel = await http('GET', apkPath('sem', 'c2'));
    assert.equal(noChannel.status, 404);
    assert.match(noChannel.body.toString(), /the app has no such channel/);
    // Nothing of the request comes back: not the app, the channel, or the path of a route that does not exist.
    const marker = 'zz<script>alert(1)</script>';
    for (const path of [apkPath(marker, 'c1'), apkPath('sem', marker), `/${encodeURIComponent(marker)}`, `/apk/${encodeURIComponent(marker)}`]) {
      const r = await http('GET', path);
      assert.equal(r.status, 404, path);
      const body = r.body.toString();
      assert.ok(!body.includes('zz') && !body.includes('script'), `${path} answered ${body}`);
    }
    assert.equal((await http('GET', '/apk/sem/c1.zip')).status, 404);
    assert.equal((await http('HEAD', apkPath('nope', 'c1'))).status, 404);
  });

  test('416 with Content-Range */size for a range past the end', async () => {
    const r = await http('GET', apkPath('sem', 'c1'), { range: `bytes=${size}-` });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${size}`);
  });

  test('If-Range: the current ETag or date resumes, a stale one gets the whole new body', async () => {
    const current = await http('GET', apkPath('sem', 'c1'), { range: 'bytes=10-19', 'if-range': etag });
    assert.equal(current.status, 206);
    const byDate = await http('GET', apkPath('sem', 'c1'), { range: 'bytes=10-19', 'if-range': (await http('HEAD', apkPath('sem', 'c1'))).headers['last-modified']! });
    assert.equal(byDate.status, 206);
    const stale = await http('GET', apkPath('sem', 'c1'), { range: 'bytes=10-19', 'if-range': '"0000"' });
    assert.equal(stale.status, 200);
    assert.ok(stale.body.equals(bytes));
  });

  test('several ranges are answered with the whole body; If-None-Match with the ETag is 304', async () => {
    const multi = await http('GET', apkPath('sem', 'c1'), { range: 'bytes=0-9,20-29' });
    assert.equal(multi.status, 200);
    assert.ok(multi.body.equals(bytes));
    const cached = await http('GET', apkPath('sem', 'c1'), { 'if-none-match': etag });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
  });

  test('a channel works the moment it is added and is gone the moment it is removed', async () => {
    assert.equal((await http('GET', apkPath('sem', 'fresh'))).status, 404);
    assert.equal((await admin('POST', '/sem/channels', { channels: [{ id: 'fresh' }] })).status, 201);
    assert.equal((await http('GET', apkPath('sem', 'fresh'))).status, 200);
    assert.equal((await admin('DELETE', '/sem/channels/fresh')).status, 204);
    assert.equal((await http('GET', apkPath('sem', 'fresh'))).status, 404);
    assert.equal((await admin('DELETE', '/sem/channels/fresh')).status, 404);
  });

  test('channels are added in the documented form {"channels":["a","b"]}, ids and objects mixed', async () => {
    const added = await admin('POST', '/sem/channels', { channels: ['plain-a', 'plain-b', { id: 'with-extras', extras: { campaign: 'c9' } }] });
    assert.equal(added.status, 201, added.body.toString());
    const listed = JSON.parse((await admin('GET', '/sem/channels')).body.toString()) as { id: string; extras: Record<string, string> }[];
    const byId = new Map(listed.map((c) => [c.id, c.extras]));
    assert.deepEqual([byId.get('plain-a'), byId.get('plain-b'), byId.get('with-extras')], [{}, {}, { campaign: 'c9' }]);
    assert.equal((await http('GET', apkPath('sem', 'plain-b'))).status, 200);
  });
});

describe('signed URLs', () => {
  before(async () => {
    await admin('PUT', '/signed', { master: pathToFileURL(apks.v1v2v3).href, signed: true });
    await admin('POST', '/signed/channels', { channels: [{ id: 'partner' }] });
  });

  test('403 without a signature, with a wrong or expired one; 200 with a valid one, cached no longer than it lives', async () => {
    const now = Math.floor(Date.now() / 1000);
    const missing = await http('GET', apkPath('signed', 'partner'));
    assert.equal(missing.status, 403);
    assert.match(missing.body.toString(), /signed URL/);
    const forOther = signedQuery(URL_KEY, 'signed', 'other', now + 120);
    assert.equal((await http('GET', `${apkPath('signed', 'partner')}?${forOther}`)).status, 403);
    const wrongKey = signedQuery('not-the-key', 'signed', 'partner', now + 120);
    assert.equal((await http('GET', `${apkPath('signed', 'partner')}?${wrongKey}`)).status, 403);
    const expired = await http('GET', `${apkPath('signed', 'partner')}?${signedQuery(URL_KEY, 'signed', 'partner', now - 1)}`);
    assert.equal(expired.status, 403);
    assert.match(expired.body.toString(), /expired/);
    const ok = await http('GET', `${apkPath('signed', 'partner')}?${signedQuery(URL_KEY, 'signed', 'partner', now + 120)}`);
    assert.equal(ok.status, 200);
    const maxAge = Number(/max-age=(\d+)/.exec(ok.headers['cache-control']!)![1]);
    assert.ok(maxAge <= 120 && maxAge > 0, `max-age ${maxAge} must not outlive the link`);
  });
});

describe('a server with master roots', () => {
  let rooted: INestApplication;
  let rootedPort: number;
  let root: string;
  let outside: string;
  before(async () => {
    root = join(dir, 'roots', 'masters');
    outside = join(dir, 'roots', 'outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    rooted = await NestFactory.create(
      ServeModule.forRoot({
        redis: redis.redis,
        redisPrefix: `${redis.prefix}rooted:`,
        store: new TaskStore(redis.redis, { keyPrefix: redis.prefix }),
        config: { adminToken: ADMIN_TOKEN, urlKey: URL_KEY, maxAgeSeconds: 600, masterRoots: StorageRoots.parse(pathToFileURL(root).href, 'SUBPACK_MASTER_ROOTS') },
        logger: createLogger('serve-test', 'silent'),
      }),
      { logger: false },
    );
    await rooted.listen(0, '127.0.0.1');
    rootedPort = ((rooted.getHttpServer() as Server).address() as AddressInfo).port;
  });
  after(async () => rooted?.close());

  const put = (name: string, master: string) => http('PUT', `/admin/apps/${name}`, { authorization: `Bearer ${ADMIN_TOKEN}` }, { master }, rootedPort);

  test('the admin endpoint registers masters inside the roots only, with one reason for whatever is outside', async () => {
    await copyFile(apks.v1v2v3, join(root, 'app.apk'));
    await copyFile(apks.v1v2v3, join(outside, 'secret.apk'));
    await writeFile(join(outside, 'notes.txt'), 'not an APK');
    await symlink(outside, join(root, 'out'));
    await symlink(join(outside, 'secret.apk'), join(root, 'secret.apk'));
    assert.equal((await put('inside', pathToFileURL(join(root, 'app.apk')).href)).status, 200);
    const masters = [
      apks.v1v2v3,
      join(outside, 'missing.apk'),
      '/etc/passwd',
      '/dev/zero',
      join(root, 'secret.apk'),
      join(root, 'out', 'secret.apk'),
      join(root, 'out', 'notes.txt'),
      join(root, 'out', 'missing.apk'),
    ];
    const said = new Set<string>();
    for (const master of masters) {
      const masterUrl = pathToFileURL(master).href;
      const reply = await put('outside', masterUrl);
      assert.equal(reply.status, 400, `${master}: ${reply.body.toString()}`);
      said.add((JSON.parse(reply.body.toString()) as { message: string }).message.replace(masterUrl, '<master>'));
    }
    assert.deepEqual([...said], ['master <master> is outside the allowed roots (SUBPACK_MASTER_ROOTS)']);
    const listed = JSON.parse((await http('GET', '/admin/apps', { authorization: `Bearer ${ADMIN_TOKEN}` }, undefined, rootedPort)).body.toString()) as { name: string }[];
    assert.deepEqual(listed.map((a) => a.name), ['inside']);
  });

  test('`serve app add` applies the roots of SUBPACK_MASTER_ROOTS the same way', async () => {
    const env = { ...process.env, REDIS_URL: TEST_REDIS_URL, SUBPACK_REDIS_PREFIX: `${redis.prefix}rooted:`, SUBPACK_MASTER_ROOTS: pathToFileURL(root).href };
    const run = (master: string) =>
      new Promise<{ code: number; stderr: string }>((done) => {
        execFile(process.execPath, [SUBPACK, 'serve', 'app', 'add', 'cli-app', '--master', master], { env }, (err, _stdout, stderr) =>
          done({ code: err ? Number((err as { code?: unknown }).code) : 0, stderr }),
        );
      });
    const refused = await run(join(root, 'out', 'secret.apk'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /master file:\/\/\S+\/out\/secret\.apk is outside the allowed roots \(SUBPACK_MASTER_ROOTS\)/);
    assert.equal((await run(join(root, 'app.apk'))).code, 0);
  });
});

describe('admin endpoint', () => {
  test('needs the token; bad input is 400 with the reason', async () => {
    assert.equal((await http('GET', '/admin/apps')).status, 403);
    assert.equal((await http('GET', '/admin/apps', { authorization: 'Bearer wrong' })).status, 403);
    assert.equal((await admin('GET', '')).status, 200);
    const badFormat = await admin('PUT', '/bad', { master: pathToFileURL(apks.v1Only).href, format: 'walle' });
    assert.equal(badFormat.status, 400);
    assert.match(badFormat.body.toString(), /has none \(v1-only signature\)/);
    const missing = await admin('PUT', '/bad', { master: pathToFileURL(join(dir, 'missing.apk')).href });
    assert.equal(missing.status, 400);
    assert.match(missing.body.toString(), /does not exist/);
    const badName = await admin('PUT', '/-bad', { master: pathToFileURL(apks.v1Only).href });
    assert.equal(badName.status, 400);
    assert.match(badName.body.toString(), /app name/);
    const badChannel = await admin('POST', '/sem/channels', { channels: [{ id: 'a/b' }] });
    assert.equal(badChannel.status, 400);
    assert.match(badChannel.body.toString(), /path separator/);
    assert.equal((await admin('POST', '/nope/channels', { channels: [{ id: 'a' }] })).status, 404);
    const notChannel = await admin('POST', '/sem/channels', { channels: [42] });
    assert.equal(notChannel.status, 400);
    assert.match(notChannel.body.toString(), /channels\[0\] must be a channel id or/);
    const listed = JSON.parse((await admin('GET', '')).body.toString()) as { name: string }[];
    assert.ok(!listed.some((a) => a.name === 'bad' || a.name === '-bad'), 'refused apps are not registered');
  });

  test('removing an app removes its channels', async () => {
    await admin('PUT', '/gone', { master: pathToFileURL(apks.v2Only).href });
    await admin('POST', '/gone/channels', { channels: [{ id: 'x' }] });
    assert.equal((await http('GET', apkPath('gone', 'x'))).status, 200);
    assert.equal((await admin('DELETE', '/gone')).status, 204);
    assert.equal((await http('GET', apkPath('gone', 'x'))).status, 404);
    await admin('PUT', '/gone', { master: pathToFileURL(apks.v2Only).href });
    assert.deepEqual(JSON.parse((await admin('GET', '/gone/channels')).body.toString()), []);
  });

  test('channels imported from a finished pack task are the ones whose stored bytes this app serves', async () => {
    const store = new TaskStore(redis.redis, { keyPrefix: redis.prefix });
    const master = apks.v1v2v3;
    const good = await pack(master, join(dir, 'task'), 'auto', 'store-a');
    const other = await pack(master, join(dir, 'task'), 'auto', 'store-b,campaign=x');
    await store.createTask('serve-import-1', { total: 3, batches: 1, master: pathToFileURL(master).href, target: pathToFileURL(join(dir, 'task')).href });
    await store.markChannelStored('serve-import-1', 'store-a', { url: pathToFileURL(good.file).href, bytes: good.bytes.length, md5: '', sha256: good.sha256 });
    await store.markChannelStored('serve-import-1', 'store-b', { url: pathToFileURL(other.file).href, bytes: other.bytes.length, md5: '', sha256: other.sha256 });
    await store.markChannelFailed('serve-import-1', 'store-c', { code: 'X', message: 'failed' });
    await store.confirmCompletion('serve-import-1');
    await admin('PUT', '/imported', { master: pathToFileURL(master).href });
    const r = await admin('POST', '/imported/channels/import', { taskId: 'serve-import-1' });
    assert.equal(r.status, 201, r.body.toString());
    const result = JSON.parse(r.body.toString()) as { imported: string[]; skipped: { channel: string; reason: string }[] };
    assert.deepEqual(result.imported, ['store-a']);
    assert.deepEqual(result.skipped.map((s) => s.channel).sort(), ['store-b', 'store-c']);
    const served = await http('GET', apkPath('imported', 'store-a'));
    assert.ok(served.body.equals(good.bytes));
    assert.equal((await http('GET', apkPath('imported', 'store-b'))).status, 404);
    assert.equal((await admin('POST', '/imported/channels/import', { taskId: 'no-such-task' })).status, 400);
  });
});

describe('a master replaced while serving', () => {
  test('the download in flight finishes with the old bytes, the next request serves the new master', async () => {
    const big = await frameworkResApk();
    const path = join(dir, 'live-master.apk');
    await copyFile(big, path);
    await admin('PUT', '/live', { master: pathToFileURL(path).href, format: 'walle' });
    await admin('POST', '/live/channels', { channels: [{ id: 'ch' }] });
    const before = await pack(big, join(dir, 'live-before'), 'walle', 'ch');
    const after = await pack(apks.v1v2v3, join(dir, 'live-after'), 'walle', 'ch');

    // Read the first chunk, then stop reading: the server is blocked mid-prefix on a full socket.
    const inFlight = await new Promise<{ headers: IncomingHttpHeaders; rest: Promise<Buffer>; first: Buffer; resume: () => void }>((resolveFlight, reject) => {
      const req = request({ host: '127.0.0.1', port, path: apkPath('live', 'ch') }, (res) => {
        const chunks: Buffer[] = [];
        res.once('data', (first: Buffer) => {
          res.pause();
          chunks.push(first);
          const rest = new Promise<Buffer>((done, fail) => {
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => done(Buffer.concat(chunks)));
            res.on('error', fail);
          });
          resolveFlight({ headers: res.headers, rest, first, resume: () => res.resume() });
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(inFlight.first.length < before.bytes.length, 'the download is still in flight');

    // Deployments replace masters atomically: a new file renamed over the old name.
    const staged = join(dir, 'live-master.apk.new');
    await copyFile(apks.v1v2v3, staged);
    await rename(staged, path);

    const fresh = await http('GET', apkPath('live', 'ch'));
    assert.equal(fresh.status, 200);
    assert.ok(fresh.body.equals(after.bytes), 'a new request serves the new master');
    assert.equal(fresh.headers.etag, `"${after.sha256}"`);

    inFlight.resume();
    const old = await inFlight.rest;
    assert.ok(old.equals(before.bytes), 'the download in flight is the old master channel APK, unmixed');
    assert.equal(inFlight.headers.etag, `"${sha256(old)}"`);
    assert.notEqual(inFlight.headers.etag, fresh.headers.etag);

    // A resume that names the old ETag gets the whole new APK instead of a spliced one.
    const resumed = await http('GET', apkPath('live', 'ch'), { range: 'bytes=1000-', 'if-range': inFlight.headers.etag ?? '' });
    assert.equal(resumed.status, 200);
    assert.ok(resumed.body.equals(after.bytes));
  });
});

describe('a master in S3 (moto)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  const savedEnv = { ...process.env };
  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env);
    s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'masters' }));
  });
  after(async () => {
    s3?.destroy();
    await moto?.stop();
    process.env = savedEnv;
  });

  test('the prefix streams from ranged GETs; bytes, ranges and ETag match subpack pack of the same file', async () => {
    const local = await largeApk();
    await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'game/app.apk', Body: await readFile(local) }));
    assert.equal((await admin('PUT', '/s3game', { master: 's3://masters/game/app.apk', extras: { build: '5' } })).status, 200);
    await admin('POST', '/s3game/channels', { list: 'huawei,campaign=s3' });
    const packed = await pack(local, join(dir, 's3'), 'auto', 'huawei,campaign=s3', ['build=5']);
    const whole = await http('GET', apkPath('s3game', 'huawei'));
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(packed.bytes), 'served from S3 = packed from the same file');
    assert.equal(whole.headers.etag, `"${packed.sha256}"`);
    assert.ok(Date.parse(whole.headers['last-modified']!) > 0, 'objects get a Last-Modified too');
    const k = prefixLengthFor(await readApkLayout(await openLocalFile(local)), 'auto');
    const across = await http('GET', apkPath('s3game', 'huawei'), { range: `bytes=${k - 5000}-${k + 99}` });
    assert.equal(across.status, 206);
    assert.ok(across.body.equals(packed.bytes.subarray(k - 5000, k + 100)));
    const again = await http('HEAD', apkPath('s3game', 'huawei'));
    assert.equal(again.headers['last-modified'], whole.headers['last-modified'], 'Last-Modified is stable for one object version');

    // A new object under the same key: its ETag differs, so the caches refresh and the new channel APK is served.
    await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'game/app.apk', Body: await readFile(apks.v1v2v3) }));
    const replaced = await pack(apks.v1v2v3, join(dir, 's3-new'), 'auto', 'huawei,campaign=s3', ['build=5']);
    const fresh = await http('GET', apkPath('s3game', 'huawei'));
    assert.ok(fresh.body.equals(replaced.bytes));
    assert.equal(fresh.headers.etag, `"${replaced.sha256}"`);
  });

  test('a master object deleted after registration is 503 naming it; an unserved scheme is refused at registration', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'game/temp.apk', Body: await readFile(apks.v2Only) }));
    assert.equal((await admin('PUT', '/s3temp', { master: 's3://masters/game/temp.apk' })).status, 200);
    await admin('POST', '/s3temp/channels', { list: 'a' });
    assert.equal((await http('GET', apkPath('s3temp', 'a'))).status, 200);
    await s3.send(new DeleteObjectCommand({ Bucket: 'masters', Key: 'game/temp.apk' }));
    const gone = await http('GET', apkPath('s3temp', 'a'));
    assert.equal(gone.status, 503);
    assert.match(gone.body.toString(), /game\/temp\.apk does not exist/);
    const missing = await admin('PUT', '/s3missing', { master: 's3://masters/game/never.apk' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.toString(), /does not exist/);
    const oss = await admin('PUT', '/ossgame', { master: 'oss://bucket/app.apk' });
    assert.equal(oss.status, 400);
    assert.match(oss.body.toString(), /oss:\/\/ is not served by this deployment/);
  });
});
