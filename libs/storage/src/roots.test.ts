import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutsideRootsError, StorageRoots } from './roots';

test('file roots admit their own subtree on a segment boundary only', () => {
  const roots = StorageRoots.parse('file:///srv/out, file:///data/masters/', 'SUBPACK_TARGET_ROOTS');
  for (const inside of ['file:///srv/out', 'file:///srv/out/', 'file:///srv/out/a/b/', 'file://localhost/srv/out/x', 'file:///data/masters/app.apk']) {
    assert.equal(roots.admits(inside), true, inside);
  }
  for (const outside of [
    'file:///srv/outside/',
    'file:///srv/ou',
    'file:///srv/out/../etc/',
    'file:///srv/out/%2e%2e/etc/',
    'file:///srv/out/a/%2E%2E/%2e%2e/root',
    'file:///etc/x/',
    'file:///proc/self/',
    'file://elsewhere/srv/out/',
    'file:///data/masters-old/app.apk',
    's3://srv/out/',
    'not a url',
  ]) {
    assert.equal(roots.admits(outside), false, outside);
  }
  assert.equal(roots.admits('file:///srv//out//x/./y'), true, 'doubled slashes and "." are normalised');
});

test('object-store prefixes are matched the same way, by bucket and whole key segments', () => {
  const roots = StorageRoots.parse('s3://releases/apks,oss://cn-bucket', 'SUBPACK_TARGET_ROOTS');
  assert.equal(roots.admits('s3://releases/apks/1.4/'), true);
  assert.equal(roots.admits('s3://releases/apks'), true);
  assert.equal(roots.admits('s3://releases/apks-private/'), false);
  assert.equal(roots.admits('s3://releases/apks/../secrets/'), false);
  assert.equal(roots.admits('s3://releasesx/apks/'), false);
  assert.equal(roots.admits('oss://cn-bucket/any/where'), true);
  assert.equal(roots.admits('oss://cn-bucket-2/x'), false);
});

test('a refusal names the URL and the setting but never looks at the storage', () => {
  const roots = StorageRoots.parse('file:///srv/out', 'SUBPACK_TARGET_ROOTS');
  assert.throws(
    () => roots.check('file:///etc/x/', 'target'),
    (e: unknown) => e instanceof OutsideRootsError && e.message === 'target file:///etc/x/ is outside the allowed roots (SUBPACK_TARGET_ROOTS)',
  );
  assert.throws(() => roots.check('file:///root', 'target'), /outside the allowed roots/);
});

test('an empty or unparseable list is refused', () => {
  assert.throws(() => StorageRoots.parse(' , ', 'SUBPACK_MASTER_ROOTS'), /at least one URL prefix/);
  assert.throws(() => StorageRoots.parse('/srv/out', 'SUBPACK_MASTER_ROOTS'), /"\/srv\/out" is not a URL prefix/);
});
