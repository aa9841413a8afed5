import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FakeOss, largeApk, makeTempDir, removeDir, startMoto, type MotoServer } from '@subpack/testing';

const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');
let moto: MotoServer;
let oss: FakeOss;
let s3: S3Client;
let dir: string;
let master: string;

before(async () => {
  [moto, oss, dir, master] = await Promise.all([
    startMoto(),
    FakeOss.start({ accessKeyId: 'cli-oss-key', accessKeySecret: 'cli-oss-secret', region: 'cn-beijing' }),
    makeTempDir('subpack-cli-cloud-'),
    largeApk(),
  ]);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'rel' }));
  await s3.send(new PutObjectCommand({ Bucket: 'rel', Key: 'masters/app.apk', Body: await readFile(master) }));
  oss.createBucket('oss-rel');
});

after(async () => {
  s3?.destroy();
  await Promise.all([moto?.stop(), oss?.stop(), dir && removeDir(dir)]);
});

function subpack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...moto.env, ...oss.env } }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Line {
  channel: string;
  url?: string;
  file?: string;
  outcome?: string;
  md5: string;
  sha256: string;
}

function lines(stdout: string): Line[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
}

async function s3Object(url: string): Promise<Buffer> {
  const u = new URL(url);
  const out = await s3.send(new GetObjectCommand({ Bucket: u.hostname, Key: u.pathname.slice(1) }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

test('pack s3:// → s3://, local → oss://, s3:// → dir, composed or streamed: the same bytes and digests as a local pack', async () => {
  const local = await subpack(['pack', master, '--out', join(dir, 'local'), '-c', 'huawei', '-c', 'xiaomi', '--json']);
  assert.equal(local.code, 0, local.stderr);
  const expected = new Map(await Promise.all(lines(local.stdout).map(async (l) => [l.channel, { ...l, bytes: await readFile(l.file!) }] as const)));

  const composed = await subpack(['pack', 's3://rel/masters/app.apk', '--out', 's3://rel/channels/', '-c', 'huawei', '-c', 'xiaomi', '--json']);
  assert.equal(composed.code, 0, composed.stderr);
  assert.equal(composed.stderr, '', 'composition needs no notice');
  const streamed = await subpack(['pack', 's3://rel/masters/app.apk', '--out', 's3://rel/streamed/', '-c', 'huawei', '-c', 'xiaomi', '--json', '--no-compose']);
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.match(streamed.stderr, /streaming channel uploads instead of composing them in the store: composition is switched off/);
  for (const run of [composed, streamed]) {
    for (const l of lines(run.stdout)) {
      const want = expected.get(l.channel)!;
      assert.equal(l.md5, want.md5);
      assert.equal(l.sha256, want.sha256);
      assert.ok((await s3Object(l.url!)).equals(want.bytes), `${l.url} is byte-identical to ${want.file}`);
    }
  }
  assert.equal(lines(composed.stdout)[0]!.url, 's3://rel/channels/com.example.large-1.0.0-huawei.apk');

  const toOss = await subpack(['pack', master, '--out', 'oss://oss-rel/apks/', '-c', 'huawei', '--json']);
  assert.equal(toOss.code, 0, toOss.stderr);
  assert.match(toOss.stderr, /uploading the master .* once to oss:\/\/oss-rel\/apks\/\.subpack\/masters\/[0-9a-f]{64}\.apk/);
  assert.ok(oss.getObject('oss-rel', 'apks/com.example.large-1.0.0-huawei.apk')!.data.equals(expected.get('huawei')!.bytes));

  const toDir = await subpack(['pack', 's3://rel/masters/app.apk', '--out', join(dir, 'from-s3'), '-c', 'xiaomi', '--json']);
  assert.equal(toDir.code, 0, toDir.stderr);
  const [fromS3] = lines(toDir.stdout);
  assert.match(fromS3!.url!, /^file:\/\//);
  assert.ok((await readFile(new URL(fromS3!.url!))).equals(expected.get('xiaomi')!.bytes));
});

test('pack names a missing master object and a missing target bucket once, before any channel (exit 2), never a secret', async () => {
  const missing = await subpack(['pack', 's3://rel/masters/none.apk', '--out', 's3://rel/x/', '-c', 'a']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /master s3:\/\/rel\/masters\/none\.apk does not exist \(bucket rel, key masters\/none\.apk\)/);
  const channels = ['-c', 'a', '-c', 'b', '-c', 'c'];
  const noBucket = await subpack(['pack', 's3://rel/masters/app.apk', '--out', 's3://no-bucket/x/', ...channels]);
  assert.equal(noBucket.code, 2, noBucket.stderr);
  assert.equal(noBucket.stderr, `subpack: target bucket no-bucket does not exist (endpoint ${moto.endpoint})\n`);
  const fromLocal = await subpack(['pack', master, '--out', 's3://no-bucket/x/', ...channels, '--json']);
  assert.deepEqual([fromLocal.code, fromLocal.stdout, fromLocal.stderr], [2, '', noBucket.stderr]);
  const noOssBucket = await subpack(['pack', master, '--out', 'oss://no-oss-bucket/x/', ...channels]);
  assert.equal(noOssBucket.code, 2, noOssBucket.stderr);
  assert.equal(noOssBucket.stderr, `subpack: target bucket no-oss-bucket does not exist (endpoint ${oss.env.OSS_ENDPOINT})\n`);
  for (const out of [missing.stderr, noBucket.stderr, noOssBucket.stderr]) {
    assert.ok(!out.includes(moto.env.AWS_SECRET_ACCESS_KEY!) && !out.includes('cli-oss-secret'), out);
  }
});

test('a rerun to s3:// keeps identical objects and replaces a different one', async () => {
  const args = ['pack', master, '--out', 's3://rel/rerun/', '-c', 'huawei', '-c', 'xiaomi', '--json'];
  const first = await subpack(args);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(lines(first.stdout).map((l) => [l.channel, l.outcome]), [['huawei', 'written'], ['xiaomi', 'written']]);
  const want = new Map(await Promise.all(lines(first.stdout).map(async (l) => [l.channel, await s3Object(l.url!)] as const)));

  const again = await subpack(args);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(lines(again.stdout).map((l) => [l.channel, l.outcome]), [['huawei', 'kept'], ['xiaomi', 'kept']]);
  const quiet = await subpack(args.filter((a) => a !== '--json'));
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.match(quiet.stderr, /^channels into s3:\/\/rel\/rerun\/ in [\d.]+s: 2 stored \(0 written, 2 kept\), 0 failed, 2 total\n$/);

  // Another build under the same key: same size, other bytes, other digest in its metadata.
  await s3.send(new PutObjectCommand({ Bucket: 'rel', Key: 'rerun/com.example.large-1.0.0-xiaomi.apk', Body: Buffer.alloc(want.get('xiaomi')!.length, 7) }));
  const summary = await subpack(args.filter((a) => a !== '--json'));
  assert.equal(summary.code, 0, summary.stderr);
  assert.match(summary.stderr, /^channels into s3:\/\/rel\/rerun\/ in [\d.]+s: 2 stored \(1 written, 1 kept\), 0 failed, 2 total\n$/);
  for (const l of lines(first.stdout)) assert.ok((await s3Object(l.url!)).equals(want.get(l.channel)!), `${l.url} holds the channel's APK again`);
});
