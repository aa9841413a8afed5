import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApkError, planChannel, readApkLayout, PrefixDigests } from '@subpack/apk';
import { apksignerVerify, makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { MasterUnavailableError, openLocalFile, openMaster, openTarget, parseServableUrl, parseStorageUrl, StorageUrlError, targetRoot } from './index';
import { servedSchemes } from './storage-url';

const facts = { channel: 'c', package: 'p', versionName: '1', versionCode: 1 };

let dir: string;
before(async () => {
  dir = await makeTempDir('subpack-storage-');
});
after(async () => removeDir(dir));

test('storage URLs: file, s3 and oss, and clear errors for the rest', () => {
  assert.deepEqual(parseStorageUrl('file:///srv/a%20b.apk', 'master'), { scheme: 'file', path: '/srv/a b.apk' });
  assert.deepEqual(parseStorageUrl('s3://bucket/dir/app.apk', 'master'), { scheme: 's3', bucket: 'bucket', key: 'dir/app.apk' });
  assert.deepEqual(parseStorageUrl('oss://b/k', 'target'), { scheme: 'oss', bucket: 'b', key: 'k' });
  assert.throws(() => parseStorageUrl('/srv/app.apk', 'master'), (e: unknown) => e instanceof StorageUrlError && /master: "\/srv\/app.apk" is not a URL/.test(e.message));
  assert.throws(() => parseStorageUrl('ftp://x/y', 'target'), /unsupported scheme ftp:/);
  assert.throws(() => parseStorageUrl('file://elsewhere/x', 'master'), /must be local/);
  for (const url of ['file:///srv/out%2fsub/', 's3://bucket/out%2Fsub/', 'oss://bucket/a%2fb.apk']) {
    assert.throws(
      () => parseStorageUrl(url, 'target'),
      (e: unknown) => e instanceof StorageUrlError && e.message === `target: ${url} contains an encoded slash (%2F) in its path; write "/" to separate directories`,
    );
  }
  assert.throws(() => parseStorageUrl('s3://bucket/a%zzb/', 'target'), (e: unknown) => e instanceof StorageUrlError && /malformed percent-escape/.test(e.message));
  assert.throws(() => targetRoot('file:///srv/out%2F/'), StorageUrlError);
});

test('the schemes this deployment serves pass, for masters and targets alike; others are refused', () => {
  assert.deepEqual(servedSchemes({}), ['file', 's3']);
  assert.deepEqual(servedSchemes({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'a', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'b', OSS_REGION: 'cn-hangzhou' }), ['file', 's3', 'oss']);
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'a';
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'b';
  process.env.OSS_REGION = 'cn-hangzhou';
  assert.deepEqual(parseServableUrl('file:///srv/out/', 'target'), { scheme: 'file', path: '/srv/out/' });
  assert.deepEqual(parseServableUrl('oss://bucket/out/', 'target'), { scheme: 'oss', bucket: 'bucket', key: 'out/' });
  for (const what of ['master', 'target'] as const) {
    assert.throws(() => parseServableUrl('gs://bucket/k', what), (e: unknown) => e instanceof StorageUrlError && e.message.startsWith(`${what}: unsupported scheme gs:`));
  }
  assert.throws(() => openTarget('ftp://host/out/'), (e: unknown) => e instanceof StorageUrlError && /unsupported scheme ftp:/.test(e.message));
  delete process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  assert.throws(() => openTarget('oss://bucket/out/'), (e: unknown) => e instanceof StorageUrlError && /target: oss:\/\/ is not served by this deployment \(it serves file:\/\/, s3:\/\/\)/.test(e.message));
  delete process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  delete process.env.OSS_REGION;
});

test('openMaster names a missing file, a directory, and a bucket URL without a key', async () => {
  await assert.rejects(openMaster(pathToFileURL(join(dir, 'missing.apk')).href), (e: unknown) => e instanceof MasterUnavailableError && /missing\.apk does not exist/.test(e.message));
  await assert.rejects(openMaster(pathToFileURL(dir).href), /is not a regular file/);
  await assert.rejects(openMaster('s3://bucket/'), /names a bucket but no object key/);
  const apk = await standardApk('v2Only');
  const m = await openMaster(pathToFileURL(apk).href);
  assert.equal(m.path, apk);
  assert.deepEqual(m.location, { scheme: 'file', path: apk });
  assert.ok(m.size > 0 && m.identity.includes(String(m.size)));
});

test('openLocalFile says a missing file cannot be opened, refuses what is not a file, and reads an APK', async () => {
  const missing = join(dir, 'missing.apk');
  await assert.rejects(openLocalFile(missing), (err: unknown) => {
    assert.ok(!(err instanceof ApkError), 'an I/O failure is not blamed on the APK');
    assert.match((err as Error).message, /missing\.apk: cannot open: ENOENT/);
    assert.deepEqual({ code: (err as NodeJS.ErrnoException).code, path: (err as NodeJS.ErrnoException).path }, { code: 'ENOENT', path: missing });
    return true;
  });
  for (const [path, kind] of [[dir, 'a directory'], ['/dev/null', 'a device, FIFO or socket']] as const) {
    await assert.rejects(openLocalFile(path), (err: unknown) => err instanceof ApkError && err.code === 'NOT_A_FILE' && err.message === `${path}: not a regular file (${kind})`);
  }
  const apk = await standardApk('v2Only');
  const file = await openLocalFile(apk);
  assert.equal(file.path, apk);
  assert.equal(file.size, (await readFile(apk)).length);
  assert.ok((await readApkLayout(file)).schemes.v2);
});

test('FileTarget stores prefix + tail that verifies, and recognises its own finished object', async () => {
  const master = await openMaster(pathToFileURL(await standardApk('v1v2v3')).href);
  const layout = await readApkLayout(master);
  const plan = planChannel(layout, 'auto', { channel: 'store-test', extras: {} });
  const digests = (await PrefixDigests.fromChunks(master.url, plan.prefixLength, master.stream(0, plan.prefixLength))).withTail(plan.tail);
  const targetUrl = pathToFileURL(join(dir, 'out')).href + '/';
  const target = openTarget(targetUrl);
  const request = { master, plan, name: 'sub/x.apk', digests, facts };
  assert.equal(await target.existing(request), null);
  const stored = await target.store(request);
  assert.equal(stored.bytes, plan.size);
  assert.equal((await readFile(join(dir, 'out', 'sub', 'x.apk'))).length, plan.size);
  await apksignerVerify(join(dir, 'out', 'sub', 'x.apk'));
  // The APK is under 1 MiB, so this compares the whole file: master prefix bytes plus the tail.
  assert.equal(stored.method, 'file');
  assert.deepEqual(await target.existing(request), { url: stored.url, bytes: stored.bytes });
  // Same name and size but another channel's bytes: not ours, so it must be rewritten.
  const other = planChannel(layout, 'auto', { channel: 'store-tesT', extras: {} });
  assert.equal(other.size, plan.size);
  assert.equal(await target.existing({ ...request, plan: other }), null);
  assert.equal(targetRoot(targetUrl), join(dir, 'out') + '/');
});

test('a target path that is a file fails the store with the OS reason', async () => {
  const master = await openMaster(pathToFileURL(await standardApk('v2Only')).href);
  const plan = planChannel(await readApkLayout(master), 'auto', { channel: 'x', extras: {} });
  const blocker = join(dir, 'blocker');
  await writeFile(blocker, 'not a directory');
  const target = openTarget(pathToFileURL(blocker).href + '/');
  await assert.rejects(target.store({ master, plan, name: 'x.apk', digests: { md5: '', sha256: '' }, facts }), /ENOTDIR|EEXIST/);
});
