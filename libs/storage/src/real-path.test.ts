import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { planChannel, readApkLayout, PrefixDigests, type ChannelPlan, type Digests } from '@subpack/apk';
import { apksignerVerify, makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { makeDirectories, resolveBeyond } from './real-path';
import { openLocalFile, openMaster, openTarget, OutsideRootsError, StorageError, StorageRoots, type MasterSource } from './index';

const facts = { channel: 'c', package: 'p', versionName: '1', versionCode: 1 };

let base: string;
let masters: string;
let targets: string;
let outside: string;
let apk: string;
let roots: { masters: StorageRoots; targets: StorageRoots };
let plan: ChannelPlan;
let digests: Digests;

const url = (path: string): string => pathToFileURL(path).href;

/** Every file below `dir`, so a test can show that nothing appeared outside the roots. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath ?? e.path, e.name)).sort();
}

before(async () => {
  base = await makeTempDir('subpack-real-roots-');
  masters = join(base, 'masters');
  targets = join(base, 'targets');
  outside = join(base, 'outside');
  await Promise.all([mkdir(masters), mkdir(targets), mkdir(outside)]);
  apk = await standardApk('v1v2v3');
  await copyFile(apk, join(masters, 'app.apk'));
  await copyFile(apk, join(outside, 'secret.apk'));
  await writeFile(join(outside, 'notes.txt'), 'not an APK');
  await mkdir(join(outside, 'dir'));
  roots = { masters: StorageRoots.parse(url(masters), 'SUBPACK_MASTER_ROOTS'), targets: StorageRoots.parse(url(targets), 'SUBPACK_TARGET_ROOTS') };
  const src = await openLocalFile(apk);
  plan = planChannel(await readApkLayout(src), 'auto', { channel: 'links', extras: {} });
  digests = (await PrefixDigests.fromChunks(src.url, plan.prefixLength, src.stream(0, plan.prefixLength))).withTail(plan.tail);
});
after(async () => removeDir(base));

test('resolveBeyond follows links, steps back from where they led on "..", and appends what does not exist', async () => {
  await symlink(outside, join(masters, 'resolve-dir'));
  await symlink('../outside/secret.apk', join(masters, 'resolve-file'));
  assert.equal(await resolveBeyond(join(masters, 'resolve-dir', 'secret.apk')), join(outside, 'secret.apk'));
  assert.equal(await resolveBeyond(join(masters, 'resolve-dir', 'missing', 'x.apk')), join(outside, 'missing', 'x.apk'));
  assert.equal(await resolveBeyond(join(masters, 'resolve-file')), join(outside, 'secret.apk'));
  // The kernel resolves ".." after the link, so masters/resolve-dir/.. is base, not masters.
  assert.equal(await resolveBeyond(`${masters}/resolve-dir/../outside/notes.txt`), join(outside, 'notes.txt'));
  assert.equal(await resolveBeyond(`${masters}/app.apk/`), join(masters, 'app.apk'));
});

test('a master reached through a link out of the root is refused with one message, whether it exists or not, and whatever it is', async () => {
  await symlink(outside, join(masters, 'linked-dir'));
  await symlink(join(outside, 'secret.apk'), join(masters, 'linked-file.apk'));
  await symlink(join(outside, 'gone.apk'), join(masters, 'dangling.apk'));
  await symlink('/dev/zero', join(masters, 'zero.apk'));
  const refusals: string[] = [];
  for (const path of [
    join(masters, 'linked-dir', 'secret.apk'),
    join(masters, 'linked-dir', 'missing.apk'),
    join(masters, 'linked-dir', 'notes.txt'),
    join(masters, 'linked-dir', 'dir'),
    join(masters, 'linked-file.apk'),
    join(masters, 'dangling.apk'),
    join(masters, 'zero.apk'),
  ]) {
    const masterUrl = url(path);
    const err = await openMaster(masterUrl, { roots: roots.masters }).then(
      () => assert.fail(`${path} was opened`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OutsideRootsError, `${path}: ${String(err)}`);
    refusals.push(err.message.replace(masterUrl, '<url>'));
  }
  assert.deepEqual(new Set(refusals), new Set(['master <url> is outside the allowed roots (SUBPACK_MASTER_ROOTS)']), 'one message for every case');
});

test('".." after a link in a URL is folded by the URL itself: it names a place inside the root, never where the link led', async () => {
  await symlink(outside, join(masters, 'dotdot'));
  const said: string[] = [];
  for (const name of ['secret.apk', 'missing.apk']) {
    const masterUrl = `file://${masters}/dotdot/%2e%2e/outside/${name}`;
    const err = await openMaster(masterUrl, { roots: roots.masters }).then(() => assert.fail(`${masterUrl} was opened`), (e: unknown) => e as Error);
    said.push(err.message.replace(name, '<name>'));
  }
  assert.deepEqual(said, [`master ${join(masters, 'outside', '<name>')} does not exist`, `master ${join(masters, 'outside', '<name>')} does not exist`]);
});

test('links that stay inside the master root are followed; the opened file is the one read', async () => {
  await mkdir(join(masters, 'releases'));
  await symlink('../app.apk', join(masters, 'releases', 'latest.apk'));
  await symlink(masters, join(masters, 'self'));
  for (const path of [join(masters, 'releases', 'latest.apk'), join(masters, 'self', 'app.apk')]) {
    const master = await openMaster(url(path), { roots: roots.masters });
    assert.equal(master.size, (await stat(apk)).size);
    assert.ok((await master.read(0, 4)).equals(Buffer.from('PK\x03\x04', 'latin1')));
  }
  await assert.rejects(openMaster(url(join(masters, 'missing.apk')), { roots: roots.masters }), /missing\.apk does not exist/);
});

test('a link swapped in after the master was opened is refused instead of read', async () => {
  const path = join(masters, 'swapped.apk');
  await copyFile(apk, path);
  const master = await openMaster(url(path), { roots: roots.masters });
  await rm(path);
  await symlink(join(outside, 'secret.apk'), path);
  await assert.rejects(master.read(0, 4), (e: unknown) => e instanceof StorageError && /changed since it was opened/.test(e.message));
  await assert.rejects(readStream(master), /changed since it was opened/);
});

async function readStream(master: MasterSource): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of master.stream(0, 16)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a target through a link out of the root is refused with one message and nothing is written outside', async () => {
  const master = await openMaster(url(join(masters, 'app.apk')), { roots: roots.masters });
  await symlink(outside, join(targets, 'linked'));
  await symlink(join(outside, 'dir'), join(targets, 'linked-sub'));
  const before = await filesBelow(outside);
  const request = { master, plan, digests, facts };
  const cases = [
    { target: `${url(join(targets, 'linked'))}/`, name: 'x.apk' },
    { target: `${url(join(targets, 'linked'))}/new/deeper/`, name: 'x.apk' },
    { target: `${url(targets)}/`, name: 'linked-sub/x.apk' },
    { target: `${url(targets)}/`, name: 'linked/new/x.apk' },
  ];
  for (const c of cases) {
    const target = openTarget(c.target, { roots: roots.targets });
    await assert.rejects(target.existing({ ...request, name: c.name }), (e: unknown) => e instanceof OutsideRootsError && e.message === `target ${c.target} is outside the allowed roots (SUBPACK_TARGET_ROOTS)`, `${c.target} ${c.name} existing`);
    await assert.rejects(target.store({ ...request, name: c.name }), (e: unknown) => e instanceof OutsideRootsError && e.message === `target ${c.target} is outside the allowed roots (SUBPACK_TARGET_ROOTS)`, `${c.target} ${c.name} store`);
  }
  assert.deepEqual(await filesBelow(outside), before, 'nothing was written outside the root');
  assert.equal(existsSync(join(outside, 'new')), false, 'no directory was created outside the root');
  // ".." after the link is folded by the URL: the channel lands inside the root, never next to where the link led.
  await openTarget(`${url(join(targets, 'linked'))}/%2e%2e/outside/`, { roots: roots.targets }).store({ ...request, name: 'x.apk' });
  await apksignerVerify(join(targets, 'outside', 'x.apk'));
  assert.deepEqual(await filesBelow(outside), before, 'nothing was written outside the root');
});

test('a directory swapped for a link after the target was accepted is not written through', async () => {
  const master = await openMaster(url(join(masters, 'app.apk')), { roots: roots.masters });
  const dir = join(targets, 'swap');
  await mkdir(join(dir, 'sub'), { recursive: true });
  const targetUrl = `${url(dir)}/`;
  await roots.targets.checkReal(targetUrl, dir, 'target');
  const target = openTarget(targetUrl, { roots: roots.targets });
  assert.equal(await target.existing({ master, plan, digests, facts, name: 'sub/x.apk' }), null);
  await rename(join(dir, 'sub'), join(dir, 'sub-moved'));
  await symlink(join(outside, 'dir'), join(dir, 'sub'));
  const before = await filesBelow(outside);
  await assert.rejects(target.store({ master, plan, digests, facts, name: 'sub/x.apk' }), OutsideRootsError);
  await rm(join(dir, 'sub'));
  await rename(join(dir, 'sub-moved'), join(dir, 'sub'));
  await rm(dir, { recursive: true });
  await symlink(outside, dir);
  await assert.rejects(target.store({ master, plan, digests, facts, name: 'y.apk' }), OutsideRootsError);
  assert.deepEqual(await filesBelow(outside), before, 'nothing was written outside the root');
});

test('a link under a channel name is not a finished write: the store replaces the link and the outside file is untouched', async () => {
  const master = await openMaster(url(join(masters, 'app.apk')), { roots: roots.masters });
  const dir = join(targets, 'named');
  await mkdir(dir);
  const target = openTarget(`${url(dir)}/`, { roots: roots.targets });
  const request = { master, plan, digests, facts, name: 'x.apk' };
  // A file outside with exactly the bytes this write would produce.
  const decoy = join(outside, 'decoy.apk');
  await openTarget(`${url(join(base, 'scratch'))}/`).store({ ...request, name: 'decoy.apk' });
  await copyFile(join(base, 'scratch', 'decoy.apk'), decoy);
  await symlink(decoy, join(dir, 'x.apk'));
  assert.equal(await target.existing(request), null);
  const stored = await target.store(request);
  assert.equal(stored.url, url(join(dir, 'x.apk')));
  assert.equal((await stat(join(dir, 'x.apk'), { bigint: false })).isFile(), true);
  await apksignerVerify(join(dir, 'x.apk'));
  assert.ok((await readFile(decoy)).equals(await readFile(join(base, 'scratch', 'decoy.apk'))));
});

test('links that stay inside the target root are followed', async () => {
  const master = await openMaster(url(join(masters, 'app.apk')), { roots: roots.masters });
  await mkdir(join(targets, 'real'));
  await symlink('real', join(targets, 'alias'));
  const target = openTarget(`${url(join(targets, 'alias'))}/`, { roots: roots.targets });
  await target.store({ master, plan, digests, facts, name: 'in/x.apk' });
  await apksignerVerify(join(targets, 'real', 'in', 'x.apk'));
});

test('output directories are made one component at a time: nested ones appear, and /proc refuses at once instead of looping', { timeout: 10_000 }, async () => {
  const dir = await makeTempDir('subpack-mkdirs-');
  try {
    await makeDirectories(join(dir, 'a', 'b', 'c'));
    await makeDirectories(join(dir, 'a', 'b', 'c'));
    assert.ok((await stat(join(dir, 'a', 'b', 'c'))).isDirectory());
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(makeDirectories(join(dir, 'file', 'below')), { code: 'ENOTDIR' });
  } finally {
    await removeDir(dir);
  }
  // fs.mkdir(..., { recursive: true }) never returns here.
  await assert.rejects(makeDirectories('/proc/subpack-not-a-place/x'), { code: 'ENOENT' });
});
