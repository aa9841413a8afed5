import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { planChannel, readApkLayout } from '@subpack/apk';
import { makeTempDir, removeDir, standardApks, type StandardApks } from '@subpack/testing';
import { openLocalFile } from './master-source';
import { writePlanToFile, writeStreamedPlanToFile } from './write-plan';

let apks: StandardApks;
let dir: string;
let outCounter = 0;

before(async () => {
  apks = await standardApks();
  dir = await makeTempDir('subpack-write-plan-');
});
after(async () => removeDir(dir));

test('a write sweeps the partial file a killed writer left, and spares live and recent foreign writers', async () => {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  const outDir = join(dir, 'sweep');
  await mkdir(outDir);
  const dead = `.x.apk.${host}.${deadPid}.0badc0de.partial`;
  const live = `.x.apk.${host}.${process.pid}.0000beef.partial`;
  const foreign = '.x.apk.other-host.1234.00000001.partial';
  const otherFile = `.y.apk.${host}.${deadPid}.0badc0de.partial`;
  for (const f of [dead, live, foreign, otherFile]) await writeFile(join(outDir, f), 'partial');
  const layout = await readApkLayout(await openLocalFile(apks.v2Only));
  await writePlanToFile(apks.v2Only, planChannel(layout, 'auto', { channel: 'x', extras: {} }), join(outDir, 'x.apk'));
  assert.deepEqual((await readdir(outDir)).sort(), [live, foreign, otherFile, 'x.apk'].sort());
});

describe('writePlanToFile: the bytes are exactly master[0:prefixLength] ++ tail', () => {
  const MiB = 1024 * 1024;
  let master: string;
  let masterBytes: Buffer;
  before(async () => {
    masterBytes = randomBytes(20 * MiB + 3);
    master = join(dir, 'random-master.bin');
    await writeFile(master, masterBytes);
  });

  // Shorter than the master is the one case that has to cut the copy.
  const cases: [string, number, number][] = [
    ['shorter than the master', 17 * MiB + 5, 1000],
    ['exactly the master size', 16 * MiB, 4 * MiB + 3],
    ['longer than the master', 20 * MiB + 3, 70_000],
    ['an empty prefix', 0, 12],
  ];
  for (const [what, prefixLength, tailLength] of cases) {
    test(what, async () => {
      const tail = randomBytes(tailLength);
      const out = join(dir, `exact-${++outCounter}.bin`);
      await writePlanToFile(master, { prefixLength, tail, size: prefixLength + tailLength }, out);
      const written = await readFile(out);
      assert.equal(written.length, prefixLength + tailLength);
      assert.ok(written.subarray(0, prefixLength).equals(masterBytes.subarray(0, prefixLength)), 'prefix');
      assert.ok(written.subarray(prefixLength).equals(tail), 'tail');
    });
  }

  test('a master shorter than the planned prefix fails the write and leaves no file behind', async () => {
    const outDir = join(dir, 'short-master');
    await mkdir(outDir);
    const plan = { prefixLength: masterBytes.length + 1, tail: Buffer.from('t'), size: masterBytes.length + 2 };
    await assert.rejects(writePlanToFile(master, plan, join(outDir, 'x.apk')), /shorter than the planned/);
    assert.deepEqual(await readdir(outDir), []);
  });

  test('an output that cannot be renamed into place leaves no partial file', async () => {
    const outDir = join(dir, 'blocked');
    await mkdir(join(outDir, 'x.apk'), { recursive: true });
    await assert.rejects(writePlanToFile(master, { prefixLength: MiB, tail: Buffer.from('t'), size: MiB + 1 }, join(outDir, 'x.apk')), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(await readdir(outDir), ['x.apk']);
  });

  test('a streamed prefix (an object-store master) gives the same bytes; a short stream leaves no file', async () => {
    const prefixLength = 3 * MiB + 7;
    const tail = randomBytes(999);
    const out = join(dir, `streamed-${++outCounter}.bin`);
    const chunks = Readable.from([masterBytes.subarray(0, MiB), masterBytes.subarray(MiB, prefixLength)]);
    await writeStreamedPlanToFile('s3://b/master.apk', chunks, { prefixLength, tail, size: prefixLength + tail.length }, out);
    assert.ok((await readFile(out)).equals(Buffer.concat([masterBytes.subarray(0, prefixLength), tail])));
    const outDir = join(dir, 'short-stream');
    await mkdir(outDir);
    const short = Readable.from([masterBytes.subarray(0, MiB)]);
    await assert.rejects(
      writeStreamedPlanToFile('s3://b/master.apk', short, { prefixLength, tail, size: prefixLength + tail.length }, join(outDir, 'x.apk')),
      /s3:\/\/b\/master\.apk: 1048576 bytes arrived of the planned 3145735-byte prefix/,
    );
    assert.deepEqual(await readdir(outDir), []);
  });

  // The speed on ext4 rests on these syscalls (see writePlanToFile); a Node or libuv upgrade that changes them shows here.
  const strace = spawnSync('strace', ['-V']).status === 0;
  test('the copy is kernel-side and the file is cut only when the channel APK is shorter than the master', { skip: !strace && 'strace is not installed' }, async () => {
    const writer = join(__dirname, 'write-plan.js');
    const syscalls = (prefixLength: number, tailLength: number): string[] => {
      const out = join(dir, `traced-${++outCounter}.bin`);
      const script = `require(${JSON.stringify(writer)}).writePlanToFile(${JSON.stringify(master)}, { prefixLength: ${prefixLength}, tail: Buffer.alloc(${tailLength}, 1), size: ${prefixLength + tailLength} }, ${JSON.stringify(out)}).catch((e) => { console.error(e); process.exit(1); })`;
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=truncate,ftruncate,copy_file_range,ioctl,sendfile', process.execPath, '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stderr.split('\n').filter((line) => /truncate|copy_file_range|FICLONE|sendfile/.test(line));
    };
    const longer = syscalls(masterBytes.length, 5000);
    assert.ok(longer.some((l) => /copy_file_range|FICLONE\b.*= 0/.test(l)), longer.join('\n'));
    assert.deepEqual(longer.filter((l) => /truncate/.test(l)), [], 'no truncate at all');
    const shorter = syscalls(MiB, 10);
    assert.deepEqual(shorter.filter((l) => /truncate/.test(l)).map((l) => /ftruncate\(\d+, (\d+)\)/.exec(l)?.[1]), [String(MiB + 10)], 'one cut, to the final size');
  });
});
