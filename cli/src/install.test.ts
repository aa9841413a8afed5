import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeDir } from '@subpack/testing';

const run = promisify(execFile);
const CLI_DIR = resolve(__dirname, '..');

test('npm install -g of the cli folder, as the README says, gives a working subpack command linked to the checkout', { timeout: 120_000 }, async () => {
  const prefix = await makeTempDir('subpack-global-');
  try {
    // --offline: the folder is linked, nothing is fetched.
    await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, CLI_DIR]);
    const bin = join(prefix, 'bin', 'subpack');
    assert.equal(resolve(join(prefix, 'bin'), await readlink(bin)), join(prefix, 'lib', 'node_modules', 'subpack', 'bin', 'subpack.js'));
    const version = await run(bin, ['--version'], { cwd: prefix });
    assert.match(version.stdout, /^subpack \d+\.\d+\.\d+\n$/);
    const help = await run(bin, ['--help'], { cwd: prefix });
    assert.match(help.stdout, /^subpack: channel-pack a signed Android APK/);
  } finally {
    await removeDir(prefix);
  }
});
