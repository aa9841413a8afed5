import { test, before, after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PrefixDigests, planChannel, readApkLayout, readChannels, readManifest, type Digests } from '@subpack/apk';
import { FakeOss, apksignerVerify, largeApk, makeTempDir, removeDir, standardApk, startMoto, type MotoServer } from '@subpack/testing';
import {
  MasterUnavailableError,
  S3Store,
  StorageError,
  channelStoreRequest,
  openLocalFile,
  openMaster,
  openTarget,
  storeSettings,
  type MasterSource,
  type StoreRequest,
} from './index';
import type { ObjectStore } from './object-store';
import { ObjectTarget } from './object-target';
import { OssStore } from './oss-store';

const OSS_SECRET = 'oss-secret-never-printed-123';
let moto: MotoServer;
let oss: FakeOss;
let s3: S3Client;
let dir: string;
let big: string;
let small: string;
const savedEnv = { ...process.env };

before(async () => {
  [moto, oss, dir, big, small] = await Promise.all([
    startMoto(),
    FakeOss.start({ accessKeyId: 'oss-key-id', accessKeySecret: OSS_SECRET, region: 'cn-hangzhou' }),
    makeTempDir('subpack-cloud-'),
    largeApk(),
    standardApk('v1v2v3'),
  ]);
  Object.assign(process.env, moto.env, oss.env);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  for (const bucket of ['masters', 'out']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'app/large.apk', Body: await readFile(big) }));
  await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'app/small.apk', Body: await readFile(small) }));
  oss.createBucket('oss-masters');
  oss.createBucket('oss-out');
  oss.putObject('oss-masters', 'app/large.apk', await readFile(big));
});

after(async () => {
  s3?.destroy();
  await Promise.all([moto?.stop(), oss?.stop(), dir && removeDir(dir)]);
  process.env = savedEnv;
});

/** Plans `channel` on the master at `masterUrl` with the same calls the CLI and the uploader make. */
async function requestFor(masterUrl: string, channel: string, name = `${channel}.apk`): Promise<StoreRequest & { master: MasterSource; digests: Digests }> {
  const master = await openMaster(masterUrl);
  const layout = await readApkLayout(master);
  const manifest = await readManifest(master);
  const plan = planChannel(layout, 'auto', { channel, extras: { build: '7' } });
  const whole = master.location.scheme === 'file';
  const prefix = await PrefixDigests.fromChunks(master.url, plan.prefixLength, master.stream(0, whole ? master.size : plan.prefixLength), { fileSha256: whole });
  return { ...channelStoreRequest({ master, manifest, channel, plan, name, prefix }), master, digests: prefix.withTail(plan.tail) };
}

/** What the channel APK must be: the local master's prefix and the tail. */
async function expectedBytes(localApk: string, req: StoreRequest): Promise<Buffer> {
  return Buffer.concat([(await readFile(localApk)).subarray(0, req.plan.prefixLength), req.plan.tail]);
}

async function s3Bytes(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Checks a downloaded channel APK: exact bytes, apksigner, and the channel reads back. */
async function checkApk(bytes: Buffer, expected: Buffer, channel: string): Promise<void> {
  assert.ok(bytes.equals(expected), 'the object is master[0:k] ++ tail, byte for byte');
  const file = join(dir, `check-${channel}-${Date.now()}.apk`);
  await writeFile(file, bytes);
  const verified = await apksignerVerify(file);
  assert.ok(verified.v2 && verified.v3, 'v2 and v3 still verify');
  const src = await openLocalFile(file);
  const found = await readChannels(src, await readApkLayout(src));
  assert.ok(found.some((c) => c.channel === channel && c.format === 'walle' && c.extras.build === '7'));
}

/** A store whose calls are recorded, to see which path a write took. */
function recording(store: ObjectStore): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

test('an s3:// master is read with range GETs: same layout and manifest as the local file', async () => {
  const master = await openMaster('s3://masters/app/large.apk');
  assert.equal(master.size, (await readFile(big)).length);
  const remote = await readApkLayout(master);
  const bigFile = await openLocalFile(big);
  const local = await readApkLayout(bigFile);
  assert.ok(remote.cd.equals(local.cd));
  assert.equal(remote.signingBlock?.offset, local.signingBlock?.offset);
  assert.deepEqual(await readManifest(master), await readManifest(bigFile));
});

test('S3: a channel is composed in the store (part copy + tail) and only the tail is sent', async () => {
  const req = await requestFor('s3://masters/app/large.apk', 'huawei');
  assert.ok(req.plan.prefixLength > 5 * 1024 * 1024);
  const target = openTarget('s3://out/release/') as ObjectTarget;
  const before = target.objects.sentBytes;
  assert.equal(await target.existing(req), null);
  const stored = await target.store(req);
  assert.equal(stored.method, 'composed');
  assert.equal(stored.url, 's3://out/release/huawei.apk');
  assert.equal(target.objects.sentBytes - before, req.plan.tail.length);
  const bytes = await s3Bytes('out', 'release/huawei.apk');
  await checkApk(bytes, await expectedBytes(big, req), 'huawei');
  assert.equal(createHash('md5').update(bytes).digest('hex'), req.digests.md5);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), req.digests.sha256);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'out', Key: 'release/huawei.apk' }));
  assert.equal(head.ContentType, 'application/vnd.android.package-archive');
  assert.deepEqual(head.Metadata, {
    channel: 'huawei', md5: req.digests.md5, sha256: req.digests.sha256, package: 'com.example.large', versionname: '1.0.0', versioncode: '42',
  });
  assert.deepEqual(await target.existing(req), { url: stored.url, bytes: req.plan.size });
});

test('S3: a prefix below 5 MiB falls back to a streamed upload with one notice', async () => {
  const lines: string[] = [];
  const req = await requestFor('s3://masters/app/small.apk', 'xiaomi');
  const target = openTarget('s3://out/small/', { log: (l) => lines.push(l) });
  const stored = await target.store(req);
  assert.equal(stored.method, 'streamed');
  await target.store({ ...req, name: 'again.apk' });
  assert.equal(lines.length, 1, 'one notice per reason, not one per channel');
  assert.match(lines[0]!, /prefix \(\d+ bytes\) is below the store's 5242880-byte minimum part size/);
  await checkApk(await s3Bytes('out', 'small/xiaomi.apk'), await expectedBytes(small, req), 'xiaomi');
});

test('S3: compose: false streams master[0:k] and the tail in parts, byte-identical', async () => {
  process.env.SUBPACK_UPLOAD_PART_MB = '5';
  try {
    const req = await requestFor('s3://masters/app/large.apk', 'oppo');
    const lines: string[] = [];
    const target = openTarget('s3://out/streamed/', { compose: false, log: (l) => lines.push(l) }) as ObjectTarget;
    const before = target.objects.sentBytes;
    assert.equal((await target.store(req)).method, 'streamed');
    assert.equal(target.objects.sentBytes - before, req.plan.size);
    assert.match(lines[0]!, /composition is switched off/);
    await checkApk(await s3Bytes('out', 'streamed/oppo.apk'), await expectedBytes(big, req), 'oppo');
  } finally {
    delete process.env.SUBPACK_UPLOAD_PART_MB;
  }
});

test('S3: a local master is uploaded once to a content-addressed key and channels are composed from it', async () => {
  const url = pathToFileURL(big).href;
  const first = await requestFor(url, 'vivo');
  const second = await requestFor(url, 'honor');
  const target = openTarget('s3://out/local/') as ObjectTarget;
  const before = target.objects.sentBytes;
  assert.equal((await target.store(first)).method, 'composed');
  const afterFirst = target.objects.sentBytes;
  assert.equal(afterFirst - before, first.master.size + first.plan.tail.length);
  assert.equal((await target.store(second)).method, 'composed');
  assert.equal(target.objects.sentBytes - afterFirst, second.plan.tail.length, 'the master went up once');
  const copy = await s3.send(new HeadObjectCommand({ Bucket: 'out', Key: `local/.subpack/masters/${first.masterSha256}.apk` }));
  assert.equal(copy.ContentLength, first.master.size);
  await checkApk(await s3Bytes('out', 'local/honor.apk'), await expectedBytes(big, second), 'honor');
});

test('S3: an interrupted composition is continued, reusing the copied part; stale uploads are aborted', async () => {
  const req = await requestFor('s3://masters/app/large.apk', 'meizu');
  const store = new S3Store(storeSettings('s3', 'out', 'resume/'));
  // What a killed uploader leaves: an upload whose first part is already the copy of master[0:k].
  const uploadId = await store.createUpload('out', 'resume/meizu.apk', { sha256: req.digests.sha256 }, 'application/vnd.android.package-archive');
  await store.copyPart('out', 'resume/meizu.apk', uploadId, 1, { bucket: 'masters', key: 'app/large.apk', start: 0, end: req.plan.prefixLength });
  const { store: spy, calls } = recording(store);
  const stored = await new ObjectTarget('s3://out/resume/', spy, 'out', 'resume/').store(req);
  assert.equal(stored.method, 'composed');
  assert.ok(!calls.includes('copyPart') && !calls.includes('createUpload'), `the copied part was reused: ${calls.join(',')}`);
  assert.deepEqual(await store.listUploads('out', 'resume/meizu.apk'), []);
  await checkApk(await s3Bytes('out', 'resume/meizu.apk'), await expectedBytes(big, req), 'meizu');

  // A stale upload whose part 1 never showed up is awaited for a moment, then aborted with a line saying why.
  const stale = new S3Store({ ...storeSettings('s3', 'out', 'resume/'), staleUploadMs: 1, pendingCopyWaitMs: 1000 });
  const old = await stale.createUpload('out', 'resume/stale.apk', {}, 'application/octet-stream');
  const lines: string[] = [];
  await new ObjectTarget('s3://out/resume/', stale, 'out', 'resume/', { log: (l) => lines.push(l) }).store({ ...req, name: 'stale.apk' });
  assert.ok(!(await stale.listUploads('out', 'resume/stale.apk')).some((u) => u.uploadId === old));
  assert.deepEqual(lines.map((l) => l.replace(/started \S+,/, 'started <date>,')), [
    `s3://out/resume/stale.apk: waiting up to 1 s for the part copy an interrupted attempt may still have running (unfinished upload ${old})`,
    `s3://out/resume/stale.apk: aborting unfinished upload ${old}: its first part is not master[0:${req.plan.prefixLength}] (it has no part 1); started <date>, more than SUBPACK_STALE_UPLOAD_HOURS ago`,
  ]);
});

test('S3: a part copy an interrupted delivery left running inside the store is awaited and continued, not made again', async () => {
  const req = await requestFor('s3://masters/app/large.apk', 'pending');
  const store = new S3Store(storeSettings('s3', 'out', 'resume/'));
  const key = 'resume/pending.apk';
  const uploadId = await store.createUpload('out', key, { sha256: req.digests.sha256 }, 'application/vnd.android.package-archive');
  // The killed delivery's copy lands a moment after the next delivery first looks.
  const landing = delay(1500).then(() => store.copyPart('out', key, uploadId, 1, { bucket: 'masters', key: 'app/large.apk', start: 0, end: req.plan.prefixLength }));
  const { store: spy, calls } = recording(store);
  const lines: string[] = [];
  const stored = await new ObjectTarget('s3://out/resume/', spy, 'out', 'resume/', { log: (l) => lines.push(l) }).store(req);
  await landing;
  assert.equal(stored.method, 'composed');
  assert.ok(!calls.includes('copyPart') && !calls.includes('createUpload') && !calls.includes('abort'), `the pending copy was awaited and reused: ${calls.join(',')}`);
  assert.deepEqual(lines, [`s3://out/resume/pending.apk: waiting up to 20 s for the part copy an interrupted attempt may still have running (unfinished upload ${uploadId})`]);
  assert.deepEqual(await store.listUploads('out', key), []);
  await checkApk(await s3Bytes('out', key), await expectedBytes(big, req), 'pending');
});

test('S3: a master replaced after planning fails the pre-complete check (moto, like R2, ignores copy-source-if-match), permanently', async () => {
  await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'app/moving.apk', Body: await readFile(big) }));
  const req = await requestFor('s3://masters/app/moving.apk', 'lenovo');
  await s3.send(new PutObjectCommand({ Bucket: 'masters', Key: 'app/moving.apk', Body: Buffer.concat([await readFile(big), Buffer.from('x')]) }));
  const r2like = new S3Store({ ...storeSettings('s3', 'out', 'moving/'), conditionalCopy: false });
  await assert.rejects(
    new ObjectTarget('s3://out/moving/', r2like, 'out', 'moving/').store(req),
    (e: unknown) => e instanceof StorageError && e.permanent && /changed while s3:\/\/out\/moving\/lenovo\.apk was being composed/.test(e.message),
  );
  assert.equal(await r2like.head('out', 'moving/lenovo.apk'), null, 'nothing was completed');
});

test('S3: a missing bucket or key is a clear permanent error naming both', async () => {
  await assert.rejects(openMaster('s3://no-such-bucket/app.apk'), (e: unknown) => e instanceof MasterUnavailableError && /bucket no-such-bucket does not exist/.test(e.message));
  await assert.rejects(openMaster('s3://masters/app/missing.apk'), (e: unknown) => e instanceof MasterUnavailableError && /bucket masters, key app\/missing\.apk/.test(e.message));
  const req = await requestFor('s3://masters/app/large.apk', 'nobucket');
  await assert.rejects(openTarget('s3://no-such-out/x/').store(req), (e: unknown) => e instanceof StorageError && e.permanent && /no-such-out/.test(e.message));
});

test('a missing target bucket reads the same from the check and from a channel write, says writing, and is permanent', async () => {
  const req = await requestFor('s3://masters/app/large.apk', 'nobucket');
  const said = `target bucket no-such-out does not exist (endpoint ${moto.endpoint})`;
  const missing = (e: unknown): boolean => e instanceof StorageError && e.permanent && e.message === said;
  await assert.rejects(openTarget('s3://no-such-out/x/').check(), missing);
  await assert.rejects(openTarget('s3://no-such-out/x/').existing(req), missing);
  await openTarget('s3://out/x/').check();
  await openTarget(pathToFileURL(join(dir, 'not-yet')).href).check();

  const ossReq = await requestFor('oss://oss-masters/app/large.apk', 'nobucket');
  const ossSaid = `target bucket no-such-oss-out does not exist (endpoint ${oss.endpoint})`;
  await assert.rejects(openTarget('oss://no-such-oss-out/x/').check(), (e: unknown) => e instanceof StorageError && e.permanent && e.message === ossSaid);
  await openTarget('oss://oss-out/x/').check();
  // OSS answers a HEAD in a missing bucket as a missing key: the write that follows is what finds out.
  const ossTarget = openTarget('oss://no-such-oss-out/x/');
  assert.equal(await ossTarget.existing(ossReq), null);
  await assert.rejects(ossTarget.store(ossReq), (e: unknown) => e instanceof StorageError && e.permanent && e.message === ossSaid);

  // Refused keys: the target's object is named as being written, the master's as being read.
  const wrong = new OssStore({ ...storeSettings('oss', 'oss-out', 'x/'), credentials: { accessKeyId: 'oss-key-id', secretAccessKey: 'wrong-secret-value-999' } });
  await assert.rejects(new ObjectTarget('oss://oss-out/x/', wrong, 'oss-out', 'x/').existing(ossReq), /^StorageError: writing oss:\/\/oss-out\/x\/nobucket\.apk failed: SignatureDoesNotMatch/);
  await assert.rejects(wrong.head('oss-masters', 'app/large.apk'), /^StorageError: reading oss:\/\/oss-masters\/app\/large\.apk failed: SignatureDoesNotMatch/);
});

test('OSS (fake, V4-signed): composed with uploadPartCopy, streamed below 100 KB, byte-identical', async () => {
  const req = await requestFor('oss://oss-masters/app/large.apk', 'huawei');
  const target = openTarget('oss://oss-out/rel/') as ObjectTarget;
  oss.requests.length = 0;
  assert.equal((await target.store(req)).method, 'composed');
  const uploaded = oss.requests.reduce((n, r) => n + r.bodyBytes, 0);
  assert.ok(uploaded < req.plan.tail.length + 1024, `only the tail and the completion XML were sent (${uploaded} bytes)`);
  const obj = oss.getObject('oss-out', 'rel/huawei.apk')!;
  await checkApk(obj.data, await expectedBytes(big, req), 'huawei');
  assert.equal(obj.meta.sha256, req.digests.sha256);
  assert.equal(obj.contentType, 'application/vnd.android.package-archive');
  assert.deepEqual(await target.existing(req), { url: 'oss://oss-out/rel/huawei.apk', bytes: req.plan.size });

  oss.putObject('oss-masters', 'app/small.apk', await readFile(small));
  const tiny = await requestFor('oss://oss-masters/app/small.apk', 'tiny');
  const lines: string[] = [];
  const smallTarget = openTarget('oss://oss-out/small/', { log: (l) => lines.push(l) });
  assert.equal((await smallTarget.store(tiny)).method, tiny.plan.prefixLength >= 100 * 1024 ? 'composed' : 'streamed');
  await checkApk(oss.getObject('oss-out', 'small/tiny.apk')!.data, await expectedBytes(small, tiny), 'tiny');
});

test('OSS: an interrupted composition is continued; stale uploads are aborted', async () => {
  const req = await requestFor('oss://oss-masters/app/large.apk', 'resume');
  const store = new OssStore(storeSettings('oss', 'oss-out', 'resume/'));
  const uploadId = await store.createUpload('oss-out', 'resume/resume.apk', { sha256: req.digests.sha256 }, 'application/vnd.android.package-archive');
  await store.copyPart('oss-out', 'resume/resume.apk', uploadId, 1, { bucket: 'oss-masters', key: 'app/large.apk', start: 0, end: req.plan.prefixLength });
  const stale = await store.createUpload('oss-out', 'resume/resume.apk', {}, 'application/vnd.android.package-archive');
  oss.uploads.get(stale)!.initiated = new Date(Date.now() - 48 * 3600 * 1000);
  const { store: spy, calls } = recording(store);
  await new ObjectTarget('oss://oss-out/resume/', spy, 'oss-out', 'resume/').store(req);
  assert.ok(!calls.includes('copyPart'), calls.join(','));
  assert.deepEqual([...oss.uploads.values()].filter((u) => u.key === 'resume/resume.apk'), [], 'the stale upload was aborted, the reused one completed');
  await checkApk(oss.getObject('oss-out', 'resume/resume.apk')!.data, await expectedBytes(big, req), 'resume');
});

test('OSS: wrong credentials are a permanent error naming bucket and key, never the secret', async () => {
  const wrong = new OssStore({ ...storeSettings('oss', 'oss-masters', 'app/large.apk'), credentials: { accessKeyId: 'oss-key-id', secretAccessKey: 'wrong-secret-value-999' } });
  await assert.rejects(wrong.head('oss-masters', 'app/large.apk'), (e: unknown) => {
    assert.ok(e instanceof StorageError && e.permanent);
    assert.match(e.message, /oss:\/\/oss-masters\/app\/large\.apk.*SignatureDoesNotMatch/);
    assert.ok(!e.message.includes('wrong-secret-value-999') && !e.message.includes(OSS_SECRET));
    return true;
  });
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'unknown-key';
  try {
    await assert.rejects(openMaster('oss://oss-masters/app/large.apk'), (e: unknown) => e instanceof MasterUnavailableError && /InvalidAccessKeyId/.test(e.message) && !e.message.includes(OSS_SECRET));
  } finally {
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'oss-key-id';
  }
  await assert.rejects(openMaster('oss://oss-masters/app/none.apk'), /master oss:\/\/oss-masters\/app\/none\.apk does not exist \(bucket oss-masters, key app\/none\.apk\)/);
});

test('a storage profile maps a bucket to its own endpoint and keys; mistakes name the field, not the value', async () => {
  const file = join(dir, 'profiles.json');
  await writeFile(file, JSON.stringify({ stores: [{ match: 's3://ks3-bucket', endpoint: 'https://ks3-cn-beijing.ksyuncs.com', region: 'BEIJING', accessKeyId: 'AKLT1', secretAccessKey: 'ks3-secret', partCopy: false }] }));
  const env = { SUBPACK_STORAGE_PROFILES: file, AWS_ENDPOINT_URL_S3: 'http://elsewhere', AWS_REGION: 'us-east-1' };
  const ks3 = storeSettings('s3', 'ks3-bucket', 'apks/a.apk', env);
  assert.equal(ks3.endpoint, 'https://ks3-cn-beijing.ksyuncs.com');
  assert.equal(ks3.region, 'BEIJING');
  assert.equal(ks3.partCopy, false);
  assert.deepEqual(ks3.credentials, { accessKeyId: 'AKLT1', secretAccessKey: 'ks3-secret' });
  assert.equal(storeSettings('s3', 'other', 'k', env).endpoint, 'http://elsewhere');
  const bad = join(dir, 'bad-profiles.json');
  await writeFile(bad, JSON.stringify({ stores: [{ match: 's3://b', secretAccessKey: 12345678 }] }));
  assert.throws(() => storeSettings('s3', 'b', 'k', { SUBPACK_STORAGE_PROFILES: bad }), (e: unknown) => e instanceof Error && /stores\[0\]\.secretAccessKey must be a string/.test(e.message) && !e.message.includes('12345678'));
});

test('OSS: a master replaced after planning fails the guarded part copy (copy-source-if-match), permanently', async () => {
  oss.putObject('oss-masters', 'app/moving.apk', await readFile(big));
  const req = await requestFor('oss://oss-masters/app/moving.apk', 'moving');
  oss.putObject('oss-masters', 'app/moving.apk', Buffer.concat([await readFile(big), Buffer.from('x')]));
  await assert.rejects(openTarget('oss://oss-out/moving/').store(req), (e: unknown) => e instanceof StorageError && e.permanent && /oss-masters\/app\/moving\.apk.*PreconditionFailed/.test(e.message));
  assert.equal(oss.getObject('oss-out', 'moving/moving.apk'), undefined);
  assert.equal([...oss.uploads.values()].filter((u) => u.key === 'moving/moving.apk').length, 0, 'the failed upload was aborted');
});
