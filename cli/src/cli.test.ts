import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ZipFile } from 'yazl';
import { createWriteStream, existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { ProgressBar } from './progress';
import {
  CHINESE_LABEL,
  CHINESE_VERSION_NAME,
  apksignerVerify,
  frameworkResApk,
  makeTempDir,
  removeDir,
  standardApks,
  unsignedApk,
  type StandardApks,
} from '@subpack/testing';

const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function subpack(args: string[]): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

interface JsonLine {
  channel: string;
  file: string;
  bytes: number;
  md5: string;
  sha256: string;
  outcome: string;
}

let apks: StandardApks;
let dir: string;
let n = 0;
const outDir = (): string => join(dir, `out-${++n}`);

before(async () => {
  apks = await standardApks();
  dir = await makeTempDir('subpack-cli-');
});
after(async () => removeDir(dir));

function assertOneLineError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code 2 expected, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('subpack inspect', () => {
  test('reports manifest, schemes and pairs of a Chinese-labelled v1+v2+v3 APK', async () => {
    const r = await subpack(['inspect', apks.chinese, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(info.package, 'com.example.chinese');
    assert.equal(info.label, CHINESE_LABEL);
    assert.equal(info.versionName, CHINESE_VERSION_NAME);
    assert.equal(info.versionCode, 2030100);
    assert.deepEqual(info.schemes, ['v1', 'v2', 'v3']);
    assert.deepEqual(info.channels, []);
    const human = await subpack(['inspect', apks.chinese]);
    assert.match(human.stdout, new RegExp(`label: +${CHINESE_LABEL}`));
    assert.match(human.stdout, /0x7109871a +v2 signature/);
  });
});

/** A copy whose signing block's footer size field disagrees with its header. */
async function corruptSigningBlock(source: string): Promise<string> {
  const p = join(dir, `corrupt-block-${++n}.apk`);
  await copyFile(source, p);
  const bytes = await readFile(p);
  const cdOffset = bytes.readUInt32LE(bytes.length - 22 + 16);
  const fh = await open(p, 'r+');
  const bad = Buffer.alloc(8);
  bad.writeBigUInt64LE(123456n);
  await fh.write(bad, 0, 8, cdOffset - 24);
  await fh.close();
  return p;
}

/** A copy with 16 stray bytes inserted after the central directory, the EOCD still pointing at the directory. */
async function gapBeforeEocd(source: string): Promise<string> {
  const p = join(dir, `gap-${++n}.apk`);
  const bytes = await readFile(source);
  const eocdOffset = bytes.length - 22; // the fixtures carry no ZIP comment
  assert.equal(bytes.readUInt32LE(eocdOffset), 0x06054b50);
  await writeFile(p, Buffer.concat([bytes.subarray(0, eocdOffset), Buffer.alloc(16, 0xaa), bytes.subarray(eocdOffset)]));
  return p;
}

describe('subpack inspect on a malformed signing block', () => {
  interface Inspected {
    package: string;
    versionCode: number;
    schemes: string[];
    signingBlock: unknown;
    entries: { name: string; size: number }[];
    problems: { code: string; message: string }[];
  }
  const malformed: [string, (source: string) => Promise<string>, RegExp][] = [
    ['size fields that disagree', corruptSigningBlock, /APK Signing Block size 123456 does not fit/],
    ['bytes between the central directory and the EOCD', gapBeforeEocd, /16 unexpected bytes between the central directory and the EOCD/],
  ];
  for (const [what, make, problem] of malformed) {
    test(`${what}: the manifest and entries are reported and the problem is named`, async () => {
      const p = await make(apks.chinese);
      const sound = JSON.parse((await subpack(['inspect', apks.chinese, '--json'])).stdout) as Inspected;
      const r = await subpack(['inspect', p, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as Inspected;
      assert.equal(info.package, 'com.example.chinese');
      assert.equal(info.versionCode, 2030100);
      assert.deepEqual(info.entries, sound.entries);
      assert.ok(info.entries.some((e) => e.name === 'AndroidManifest.xml'));
      assert.equal(info.problems.length, 1, JSON.stringify(info.problems));
      assert.match(info.problems[0]!.message, problem);
      assert.deepEqual(sound.problems, []);

      const human = await subpack(['inspect', p, '--entries']);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /package: +com\.example\.chinese/);
      assert.match(human.stdout, new RegExp(`entries: +${sound.entries.length}\n`));
      assert.match(human.stdout, /\bAndroidManifest\.xml\n/);
      assert.match(human.stdout, /problem: .*pack refuses this APK/);
    });
  }

  test('an unreadable block is shown as unreadable, not as absent', async () => {
    const r = await subpack(['inspect', await corruptSigningBlock(apks.v1v2v3)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /signing block: unreadable/);
    assert.match(r.stdout, /schemes: +v1\n/);
  });
});

describe('subpack pack', () => {
  const cases: [keyof StandardApks, string][] = [
    ['v1Only', 'v1-comment'],
    ['v2Only', 'walle'],
    ['v1v2v3', 'walle'],
    ['rotated', 'walle'],
    ['verity', 'walle'],
    ['chinese', 'walle'],
  ];
  for (const [name, expectFormat] of cases) {
    test(`${name}: every output verifies with the master's schemes and reads back through inspect`, async () => {
      const out = outDir();
      const channelsFile = join(dir, `${name}.txt`);
      await writeFile(channelsFile, '\uFEFF# stores\r\nhuawei\r\nxiaomi # inline comment\r\n\r\n应用宝\r\n');
      const r = await subpack(['pack', apks[name], '--out', out, '--channels', channelsFile, '--channel', 'oppo', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonLine);
      assert.deepEqual(lines.map((l) => l.channel), ['oppo', 'huawei', 'xiaomi', '应用宝']);
      const master = await apksignerVerify(apks[name]);
      for (const line of lines) {
        const bytes = await readFile(line.file);
        assert.equal(bytes.length, line.bytes);
        assert.equal(createHash('md5').update(bytes).digest('hex'), line.md5);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), line.sha256);
        const v = await apksignerVerify(line.file);
        assert.deepEqual([v.v1, v.v2, v.v3, v.v31], [master.v1, master.v2, master.v3, master.v31]);
        const info = JSON.parse((await subpack(['inspect', line.file, '--json'])).stdout) as { channels: { channel: string; format: string }[] };
        assert.ok(info.channels.some((c) => c.channel === line.channel && c.format === expectFormat), JSON.stringify(info.channels));
      }
    });
  }

  test('extras, per-channel extras and a naming template with every placeholder', async () => {
    const out = outDir();
    const r = await subpack([
      'pack', apks.chinese, '--out', out, '--channel', 'vivo,partner=p7', '--extra', 'campaign=春节',
      '--name', '{label}/{versionCode}-{channel}-{md5}.apk', '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const line = JSON.parse(r.stdout) as JsonLine;
    assert.equal(line.file, join(out, CHINESE_LABEL, `2030100-vivo-${line.md5}.apk`));
    const info = JSON.parse((await subpack(['inspect', line.file, '--json'])).stdout) as { channels: { format: string; extras: Record<string, string> }[] };
    assert.deepEqual(info.channels.find((c) => c.format === 'walle')?.extras, { campaign: '春节', partner: 'p7' });
  });

  test('the large case: framework-res.apk re-signed by the test', async () => {
    const master = await frameworkResApk();
    const out = outDir();
    const r = await subpack(['pack', master, '--out', out, '--channel', 'a', '--channel', 'b', '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonLine)) await apksignerVerify(line.file);
  });

  test('a rerun to a directory keeps identical outputs and atomically replaces a different one', async () => {
    const out = outDir();
    const args = ['pack', apks.v2Only, '--out', out, '-c', 'huawei', '-c', 'xiaomi', '--json'];
    const parse = (r: Run): JsonLine[] => r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonLine);
    const first = await subpack(args);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(parse(first).map((l) => [l.channel, l.outcome]), [['huawei', 'written'], ['xiaomi', 'written']]);
    const [huawei, xiaomi] = parse(first);
    const before = { huawei: await stat(huawei!.file), xiaomi: await stat(xiaomi!.file) };

    const again = await subpack(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(parse(again).map((l) => [l.channel, l.outcome, l.sha256]), [['huawei', 'kept', huawei!.sha256], ['xiaomi', 'kept', xiaomi!.sha256]]);
    const kept = await stat(huawei!.file);
    assert.deepEqual([kept.ino, kept.mtimeMs], [before.huawei.ino, before.huawei.mtimeMs], 'a kept output is not rewritten');

    // Another build under the same name: same size, other bytes at the end.
    const fh = await open(xiaomi!.file, 'r+');
    await fh.write(Buffer.alloc(64, 7), 0, 64, xiaomi!.bytes - 64);
    await fh.close();
    const summary = await subpack(args.filter((a) => a !== '--json'));
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stderr, /channels into .* in [\d.]+s: 2 stored \(1 written, 1 kept\), 0 failed, 2 total\n/);
    const replaced = await readFile(xiaomi!.file);
    assert.equal(createHash('sha256').update(replaced).digest('hex'), xiaomi!.sha256, 'the different output holds the channel APK again');
    assert.notEqual((await stat(xiaomi!.file)).ino, before.xiaomi.ino, 'replaced by a rename, not rewritten in place');
    assert.deepEqual((await readdir(out)).sort(), [huawei!.file, xiaomi!.file].map((f) => f.slice(out.length + 1)).sort(), 'no temporary file is left');
  });

  test('formats that do not fit are refused, naming the format that would', async () => {
    assertOneLineError(await subpack(['pack', apks.v1Only, '--out', outDir(), '--channel', 'a', '--format', 'walle']), /no(ne)? .*use --format v1-comment/);
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--format', 'meta-inf']), /use --format auto, walle or vasdolly/);
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--format', 'v1-comment']), /use --format auto, walle or vasdolly/);
  });

  test('an unsigned master is refused before anything is written, in every format', async () => {
    const unsigned = await unsignedApk();
    for (const format of ['auto', 'walle', 'v1-comment', 'meta-inf']) {
      const out = outDir();
      assertOneLineError(await subpack(['pack', unsigned, '--out', out, '--channel', 'a', '--format', format]), /not signed: sign the APK before writing channels/);
      assert.equal(existsSync(out), false, `${format}: no output directory`);
    }
  });
});

describe('bad input gets one clear line and exit code 2', () => {
  test('a truncated APK', async () => {
    const p = join(dir, 'truncated.apk');
    await copyFile(apks.v2Only, p);
    await truncate(p, Math.floor((await stat(p)).size / 2));
    assertOneLineError(await subpack(['pack', p, '--out', outDir(), '--channel', 'a']), /truncated/);
  });

  test('something that is not a ZIP', async () => {
    const p = join(dir, 'not-a-zip.apk');
    await writeFile(p, 'this is plainly a text file, not an APK at all\n'.repeat(10));
    assertOneLineError(await subpack(['inspect', p]), /not a ZIP archive/);
  });

  test('a ZIP64 archive', async () => {
    const p = join(dir, 'zip64.apk');
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from('x'), 'AndroidManifest.xml', { forceZip64Format: true });
    zip.end({ forceZip64Format: true, comment: '' });
    await new Promise<void>((res, rej) => zip.outputStream.pipe(createWriteStream(p)).on('close', res).on('error', rej));
    assertOneLineError(await subpack(['pack', p, '--out', outDir(), '--channel', 'a']), /ZIP64/);
  });

  for (const out of ['file:///tmp/subpack-out%2fsub/', 's3://bucket/out%2Fsub/']) {
    test(`a target with an encoded slash: ${out}`, async () => {
      assertOneLineError(await subpack(['pack', apks.v2Only, '--out', out, '--channel', 'a']), /^subpack: target: .* contains an encoded slash \(%2F\) in its path/);
    });
  }

  test('a corrupt signing block', async () => {
    const p = await corruptSigningBlock(apks.v2Only);
    assertOneLineError(await subpack(['pack', p, '--out', outDir(), '--channel', 'a']), /APK Signing Block/);
  });

  test('bytes between the central directory and the EOCD', async () => {
    const p = await gapBeforeEocd(apks.v2Only);
    const out = outDir();
    assertOneLineError(await subpack(['pack', p, '--out', out, '--channel', 'a']), /unexpected bytes between the central directory and the EOCD/);
    await assert.rejects(readdir(out), 'nothing written');
  });

  const hostile: [string, string, RegExp][] = [
    ['a slash', 'evil/../../x', /path separator/],
    ['dot-dot', '..', /names a directory/],
    ['NUL', 'a\u0000b', /U\+0000/],
    ['a control character', 'a\u001bb', /U\+001B/],
    ['a bidi override', 'abc\u202Egpj.exe', /U\+202E/],
  ];
  for (const [what, id, pattern] of hostile) {
    test(`a channel name with ${what}`, async () => {
      const out = outDir();
      const file = join(dir, `hostile-${n}.txt`);
      await writeFile(file, `good\n${id}\n`);
      const viaFile = await subpack(['pack', apks.v2Only, '--out', out, '--channels', file]);
      assertOneLineError(viaFile, pattern);
      assert.match(viaFile.stderr, /line 2/);
      await assert.rejects(readdir(out), 'nothing written for a rejected list');
    });
  }

  test('ids are never trimmed: outer whitespace is refused from --channel and from a file, naming where', async () => {
    const out = outDir();
    const viaOption = await subpack(['pack', apks.v2Only, '--out', out, '--channel', 'huawei ']);
    assertOneLineError(viaOption, /^subpack: --channel: channel "huawei " has leading or trailing whitespace\n$/);
    const file = join(dir, `outer-space-${n}.txt`);
    await writeFile(file, 'huawei\r\n oppo # a comment\r\n');
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', out, '--channels', file]), /outer-space-\d+\.txt line 2: channel " oppo" has leading or trailing whitespace/);
    await assert.rejects(readdir(out), { code: 'ENOENT' }, 'nothing written for a refused list');
  });

  test('a duplicate in a channels file names both lines', async () => {
    const file = join(dir, 'dupes.txt');
    await writeFile(file, 'huawei\noppo\n\nhuawei # again\n');
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channels', file]), /dupes\.txt line 4: channel "huawei" is listed more than once \(first on line 1\)/);
  });

  test('an id given with --channel and again in the file, or twice with --channel, names where each was given', async () => {
    const file = join(dir, 'also-option.txt');
    await writeFile(file, '# stores\nhuawei\n\noppo\n');
    assertOneLineError(
      await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'xiaomi', '--channel', 'oppo', '--channels', file]),
      /^subpack: .*also-option\.txt line 4: channel "oppo" is listed more than once \(also given with --channel\)\n$/,
    );
    assertOneLineError(
      await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'oppo,campaign=a', '--channel', 'oppo,campaign=b']),
      /^subpack: --channel: channel "oppo" is listed more than once \(also given with --channel\)\n$/,
    );
  });

  test('inner spaces are allowed and mentioned once in the summary', async () => {
    const out = outDir();
    const r = await subpack(['pack', apks.v2Only, '--out', out, '--channel', 'Huawei Store', '--channel', 'App Gallery', '--channel', 'oppo', '--name', '{channel}.apk']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['App Gallery.apk', 'Huawei Store.apk', 'oppo.apk']);
    assert.equal(r.stderr.match(/contain spaces/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /note: 2 channel id\(s\) contain spaces, which are part of the file names \(e\.g\. "Huawei Store"\)/);
  });

  test('extras of 100 kB', async () => {
    const r = await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--extra', `big=${'x'.repeat(100_000)}`]);
    assertOneLineError(r, /100\d+ bytes of extras \(UTF-8, keys and values\), above the limit of 8192/);
  });

  test('an empty channel list', async () => {
    const file = join(dir, 'empty.txt');
    await writeFile(file, '# nothing here\n\n');
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channels', file]), /channel list is empty/);
  });

  test('a naming template that escapes --out, or collides', async () => {
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--name', '../{channel}.apk']), /must not have a "\." or "\.\." path segment/);
    assertOneLineError(
      await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--channel', 'b', '--name', 'same.apk']),
      /must contain \{channel\}, \{md5\} or \{sha256\} so that every channel gets its own file name/,
    );
    assertOneLineError(await subpack(['pack', apks.v2Only, '--out', outDir(), '--channel', 'a', '--name', '{nope}.apk']), /unknown placeholder \{nope\}/);
  });

  test('a name longer than 255 bytes in one path segment is refused before anything is written', async () => {
    const out = outDir();
    const id = 'é'.repeat(50); // 100 bytes: fine as an id, too long three times over in one segment
    const r = await subpack(['pack', apks.v2Only, '--out', out, '--channel', id, '--name', '{channel}-{channel}-{channel}.apk']);
    assertOneLineError(r, /has a path segment of 306 bytes \(UTF-8\), above the limit of 255/);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
    assert.equal((await subpack(['pack', apks.v2Only, '--out', out, '--channel', id, '--name', '{channel}/{channel}/{channel}.apk'])).code, 0);
  });

  test('a missing master and an unknown option', async () => {
    assertOneLineError(await subpack(['pack', join(dir, 'missing.apk'), '--out', outDir(), '--channel', 'a']), /missing\.apk: no such file/);
    assertOneLineError(await subpack(['pack', apks.v2Only, '--bogus']), /bogus/);
  });
});

describe('command line details', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await subpack([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `subpack ${pkg.version}\n`);
    }
  });

  test('<command> --help prints that command\'s usage and runs nothing', async () => {
    const expected: Record<string, RegExp> = {
      inspect: /--entries/,
      pack: /--channels <file>/,
      submit: /--timeout <seconds>/,
      status: /subpack status <taskId>/,
      parked: /parked replay/,
      retry: /subpack retry <taskId>/,
    };
    for (const [command, pattern] of Object.entries(expected)) {
      const r = await subpack([command, '--help']);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage:\n  subpack ${command}`));
      assert.match(r.stdout, pattern);
      assert.equal(r.stderr, '');
    }
    const h = await subpack(['pack', apks.v2Only, '-h', '--out', outDir()]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /pack options:/);
    const help = await subpack(['help', 'submit']);
    assert.match(help.stdout, /--timeout <seconds>/);
  });

  test('submit --timeout that is not a positive number is bad input, named', async () => {
    const task = join(dir, 'task.json');
    await writeFile(task, '{}');
    for (const value of ['abc', '0', '-5', '']) {
      assertOneLineError(await subpack(['submit', task, '--wait', `--timeout=${value}`]), new RegExp(`--timeout must be a positive number of seconds, not ${JSON.stringify(JSON.stringify(value)).slice(1, -1)}`));
    }
  });

  test('a failing channel on a non-TTY stderr is reported without terminal escapes', async () => {
    const out = outDir();
    // A directory where the channel's file should go makes that one channel fail.
    await mkdir(join(out, 'com.example.v2only-1.0.0-blocked.apk'), { recursive: true });
    const r = await subpack(['pack', apks.v2Only, '--out', out, '--channel', 'ok', '--channel', 'blocked']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /channel "blocked" failed/);
    assert.match(r.stderr, /: 1 stored \(1 written, 0 kept\), 1 failed, 2 total\n/);
    assert.ok(!r.stderr.includes('\x1b') && !r.stderr.includes('\r'), JSON.stringify(r.stderr));
  });

  test('the progress bar draws on a TTY only', () => {
    const capture = (isTTY: boolean): string => {
      const stream = Object.assign(new PassThrough(), { isTTY, columns: 80 }) as unknown as NodeJS.WriteStream;
      let written = '';
      (stream as unknown as PassThrough).on('data', (d: Buffer) => (written += d.toString()));
      const bar = new ProgressBar(2, stream);
      bar.update(1, 'a');
      bar.clearLine();
      bar.update(2, 'b');
      bar.finish();
      (stream as unknown as PassThrough).read();
      return written;
    };
    assert.equal(capture(false), '');
    const drawn = capture(true);
    assert.match(drawn, /\[#+\.*\] 1\/2/);
    assert.ok(drawn.includes('\r\x1b[K'), JSON.stringify(drawn));
  });
});
