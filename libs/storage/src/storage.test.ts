import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { planChannel, readApkLayout, PrefixDigests } from '@subpack/apk';
import { apksignerVerify, makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { MasterUnavailableError, openTarget, parseServableUrl, parseStorageUrl, resolveMaster, servedSchemes, StorageUrlError, targetRoot } from './index';

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
});

test('only the schemes this deployment serves pass, for masters and targets alike', () => {
  assert.deepEqual(servedSchemes(), ['file']);
  assert.deepEqual(parseServableUrl('file:///srv/out/', 'target'), { scheme: 'file', path: '/srv/out/' });
  for (const what of ['master', 'target'] as const) {
    for (const url of ['s3://bucket/k', 'oss://bucket/k']) {
      assert.throws(() => parseServableUrl(url, what), (e: unknown) => e instanceof StorageUrlError && e.message.startsWith(`${what}: `) && e.message.includes(url));
    }
  }
  assert.throws(() => openTarget('oss://bucket/out/'), (e: unknown) => e instanceof StorageUrlError && /oss:\/\/ is not served/.test(e.message));
});

test('resolveMaster names a missing file, a directory, and unsupported stores', async () => {
  await assert.rejects(resolveMaster(pathToFileURL(join(dir, 'missing.apk')).href), (e: unknown) => e instanceof MasterUnavailableError && /missing\.apk does not exist/.test(e.message));
  await assert.rejects(resolveMaster(pathToFileURL(dir).href), /is not a regular file/);
  await assert.rejects(resolveMaster('s3://bucket/app.apk'), (e: unknown) => e instanceof MasterUnavailableError && /s3:\/\/ is not served by this deployment \(it serves file:\/\/\)/.test(e.message));
  const apk = await standardApk('v2Only');
  const m = await resolveMaster(pathToFileURL(apk).href);
  assert.equal(m.path, apk);
  assert.ok(m.size > 0 && m.identity.includes(String(m.size)));
});

test('FileTarget stores prefix + tail that verifies, and recognises its own finished object', async () => {
  const apk = await standardApk('v1v2v3');
  const layout = await readApkLayout(apk);
  const plan = planChannel(layout, 'auto', { channel: 'store-test', extras: {} });
  const digests = (await PrefixDigests.compute(apk, plan.prefixLength)).withTail(plan.tail);
  const targetUrl = pathToFileURL(join(dir, 'out')).href + '/';
  const target = openTarget(targetUrl);
  const request = { masterPath: apk, plan, name: 'sub/x.apk', digests };
  assert.equal(await target.existing(request), null);
  const stored = await target.store(request);
  assert.equal(stored.bytes, plan.size);
  assert.equal((await readFile(join(dir, 'out', 'sub', 'x.apk'))).length, plan.size);
  await apksignerVerify(join(dir, 'out', 'sub', 'x.apk'));
  // The APK is under 1 MiB, so this compares the whole file: master prefix bytes plus the tail.
  assert.deepEqual(await target.existing(request), stored);
  // Same name and size but another channel's bytes: not ours, so it must be rewritten.
  const other = planChannel(layout, 'auto', { channel: 'store-tesT', extras: {} });
  assert.equal(other.size, plan.size);
  assert.equal(await target.existing({ ...request, plan: other }), null);
  assert.equal(targetRoot(targetUrl), join(dir, 'out') + '/');
});

test('a target path that is a file fails the store with the OS reason', async () => {
  const apk = await standardApk('v2Only');
  const layout = await readApkLayout(apk);
  const plan = planChannel(layout, 'auto', { channel: 'x', extras: {} });
  const blocker = join(dir, 'blocker');
  await writeFile(blocker, 'not a directory');
  const target = openTarget(pathToFileURL(blocker).href + '/');
  await assert.rejects(target.store({ masterPath: apk, plan, name: 'x.apk', digests: { md5: '', sha256: '' } }), /ENOTDIR|EEXIST/);
});
