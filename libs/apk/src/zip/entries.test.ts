import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { frameworkResApk, makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { ApkError } from '../errors';
import { writeZip } from '../manifest/test-support/zip-writer';
import { readEntries, readEntry, yauzlOpenErrorCode } from './entries';
import { CD_RECORD, EOCD, LOCAL_FILE_HEADER } from './records';
import { loadSource } from '../test-support/load-source';

/** unzip's view of an entry: an independent reader to compare against. */
function unzipEntry(apk: string, name: string): Buffer {
  return execFileSync('unzip', ['-p', apk, name], { maxBuffer: 512 * 1024 * 1024 });
}

/** Offsets of the local header and the central-directory record of the first entry named `name`. */
function recordOffsets(zip: Buffer, name: string): { local: number; central: number } {
  const { cdOffset, entryCount } = EOCD.read(zip, zip.length - EOCD.size);
  for (let i = 0, at = cdOffset; i < entryCount; i++) {
    const { nameLength, extraLength, commentLength, localHeaderOffset } = CD_RECORD.read(zip, at);
    if (zip.toString('latin1', at + CD_RECORD.size, at + CD_RECORD.size + nameLength) === name) return { local: localHeaderOffset, central: at };
    at += CD_RECORD.size + nameLength + extraLength + commentLength;
  }
  throw new Error(`no ${name} in test zip`);
}

describe('readEntry / readEntries', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('subpack-entries-');
  });
  after(async () => {
    await removeDir(dir);
  });

  it('reads a deflated entry of a real APK byte-for-byte as unzip does', async () => {
    const apk = await standardApk('chinese');
    const manifest = await readEntry(await loadSource(apk), 'AndroidManifest.xml', { maxBytes: 1 << 20 });
    assert.ok(manifest);
    assert.ok(manifest.length > 0);
    assert.deepEqual(manifest, unzipEntry(apk, 'AndroidManifest.xml'));
  });

  it('resolves null for an entry the APK does not have', async () => {
    const apk = await loadSource(await standardApk('v1Only'));
    assert.equal(await readEntry(apk, 'classes.dex', { maxBytes: 1 << 20 }), null);
    // A prefix or different case of a real name is not a match.
    assert.equal(await readEntry(apk, 'androidmanifest.xml', { maxBytes: 1 << 20 }), null);
    assert.equal(await readEntry(apk, 'AndroidManifest', { maxBytes: 1 << 20 }), null);
  });

  it('reads several entries of framework-res.apk (7,600 entries, 31 MB stored arsc) in one pass', async () => {
    const apk = await frameworkResApk();
    const got = await readEntries(await loadSource(apk), ['AndroidManifest.xml', 'resources.arsc', 'no/such/entry'], {
      maxBytes: 1 << 20,
      maxBytesByName: { 'resources.arsc': 64 << 20 },
    });
    assert.deepEqual([...got.keys()].sort(), ['AndroidManifest.xml', 'resources.arsc']);
    assert.deepEqual(got.get('AndroidManifest.xml'), unzipEntry(apk, 'AndroidManifest.xml'));
    const arsc = got.get('resources.arsc');
    assert.equal(arsc?.length, 31856520);
    assert.ok(arsc?.equals(unzipEntry(apk, 'resources.arsc')));
  });

  it('refuses an entry over maxBytes, naming the entry and the sizes', async () => {
    const apk = await loadSource(await standardApk('chinese'));
    await assert.rejects(readEntry(apk, 'AndroidManifest.xml', { maxBytes: 100 }), (err: unknown) => {
      assert.ok(err instanceof ApkError);
      assert.equal(err.code, 'TOO_LARGE');
      assert.match(err.message, /chinese\.apk: entry AndroidManifest\.xml: \d+ bytes exceeds the limit of 100 bytes/);
      return true;
    });
    // The per-name cap wins over the general one.
    await assert.rejects(
      readEntries(apk, ['AndroidManifest.xml', 'resources.arsc'], { maxBytes: 1 << 20, maxBytesByName: { 'resources.arsc': 10 } }),
      /entry resources\.arsc: \d+ bytes exceeds the limit of 10 bytes/,
    );
  });

  it('says a file that is not a ZIP is not one', async () => {
    const path = join(dir, 'not-a-zip.apk');
    await writeFile(path, 'this is plain text, not an APK\n'.repeat(100));
    await assert.rejects(readEntry(await loadSource(path), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), (err: unknown) => {
      assert.ok(err instanceof ApkError);
      assert.equal(err.code, 'NOT_A_ZIP');
      assert.ok(err.message.startsWith(`${path}: not a ZIP file, or truncated`), err.message);
      return true;
    });
    const empty = join(dir, 'empty.apk');
    await writeFile(empty, '');
    await assert.rejects(readEntry(await loadSource(empty), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), /empty\.apk: not a ZIP file, or truncated/);
  });

  it("reads yauzl's own refusals of a non-ZIP and of a multi-disk archive, made from real files", async () => {
    const yauzl = await import('yauzl');
    const refusal = async (bytes: Buffer): Promise<string> => {
      const path = join(dir, 'yauzl-refusal.zip');
      await writeFile(path, bytes);
      const err = await yauzl.openPromise(path, { lazyEntries: true }).then(
        (zip) => {
          zip.close();
          return assert.fail('yauzl opened it');
        },
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error);
      return err.message;
    };
    const zip = await readFile(await standardApk('chinese'));
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const multiDisk = Buffer.from(zip);
    multiDisk.writeUInt16LE(1, eocd + 4);
    assert.equal(yauzlOpenErrorCode(await refusal(Buffer.from('plain text, not a ZIP\n'.repeat(10)))), 'NOT_A_ZIP');
    assert.equal(yauzlOpenErrorCode(await refusal(multiDisk)), 'MULTI_DISK');
    // Any other refusal stays unclassified: a corrupt central directory is a different problem from "not a ZIP".
    const badComment = Buffer.concat([zip, Buffer.from('trailing bytes')]);
    const other = await refusal(badComment);
    assert.equal(yauzlOpenErrorCode(other), undefined, other);
    await assert.rejects(readEntry(await loadSource(join(dir, 'yauzl-refusal.zip')), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), (err: unknown) => {
      assert.ok(err instanceof ApkError);
      assert.equal(err.code, 'BAD_CENTRAL_DIRECTORY');
      return true;
    });
    await writeFile(join(dir, 'multi-disk.apk'), multiDisk);
    await assert.rejects(readEntry(await loadSource(join(dir, 'multi-disk.apk')), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), (err: unknown) => err instanceof ApkError && err.code === 'MULTI_DISK');
  });

  it('says a truncated APK is truncated', async () => {
    const path = join(dir, 'truncated.apk');
    await copyFile(await standardApk('v1Only'), path);
    const { size } = await stat(path);
    await truncate(path, Math.floor(size / 2));
    await assert.rejects(readEntry(await loadSource(path), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), /truncated\.apk: not a ZIP file, or truncated/);
  });

  it('names the entry when its compressed data is corrupt', async () => {
    const path = join(dir, 'corrupt.zip');
    const text = Buffer.from('hello, deflate '.repeat(2000));
    await writeZip(path, [{ name: 'a.txt', data: text, compress: true }]);
    const zip = await readFile(path);
    const { local } = recordOffsets(zip, 'a.txt');
    const { nameLength, extraLength } = LOCAL_FILE_HEADER.read(zip, local);
    const dataStart = local + LOCAL_FILE_HEADER.size + nameLength + extraLength;
    zip.fill(0xff, dataStart, dataStart + 16);
    await writeFile(path, zip);
    await assert.rejects(readEntry(await loadSource(path), 'a.txt', { maxBytes: 1 << 20 }), (err: unknown) => {
      assert.ok(err instanceof ApkError);
      assert.match(err.message, /corrupt\.zip: entry a\.txt: corrupt: /);
      return true;
    });
  });

  it('rejects a name that the central directory lists twice', async () => {
    const path = join(dir, 'dup.zip');
    await writeZip(path, [
      { name: 'AndroidManifest.xml', data: Buffer.from('first'), compress: false },
      { name: 'AndroidManifest.xml', data: Buffer.from('second'), compress: false },
    ]);
    await assert.rejects(readEntry(await loadSource(path), 'AndroidManifest.xml', { maxBytes: 1 << 20 }), /entry AndroidManifest\.xml appears more than once/);
  });

  it('reads an entry with an unknown compression method as stored, as Android does', async () => {
    const path = join(dir, 'method.zip');
    const data = Buffer.from('stored bytes behind a bogus method field');
    await writeZip(path, [
      { name: 'x.bin', data, compress: false },
      { name: 'y.txt', data: Buffer.from('y'.repeat(1000)), compress: true },
    ]);
    const zip = await readFile(path);
    const { local, central } = recordOffsets(zip, 'x.bin');
    LOCAL_FILE_HEADER.patch(zip, local, { method: 0x6363 });
    CD_RECORD.patch(zip, central, { method: 0x6363 });
    await writeFile(path, zip);
    const got = await readEntries(await loadSource(path), ['x.bin', 'y.txt'], { maxBytes: 1 << 20 });
    assert.deepEqual(got.get('x.bin'), data);
    assert.equal(got.get('y.txt')?.toString(), 'y'.repeat(1000));
  });
});
