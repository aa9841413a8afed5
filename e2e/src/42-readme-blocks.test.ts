// Every shell block of the README runs here as written, so a block that drifts from the code fails CI.
//
// Convention for README shell blocks (fences `bash`, `sh` or `shell`); the words after the language are directives:
//   ```bash                       run as written (bash -e -o pipefail) in a fresh folder standing in for the checkout
//                                 (it holds links to services/, examples/ and node_modules/), with `subpack` on the
//                                 PATH as the README says, against this file's RabbitMQ vhost and Redis prefix.
//   ```bash no-run                cannot run on a CI machine (docker compose, kubectl, the suite itself): only
//                                 `bash -n` checks it. Say in the text around it what it needs.
//   fixture=<name>                prepares the inputs the block expects and checks what it produced (see FIXTURES:
//                                 s3 = moto, oss = the OSS protocol fake, serve, stack = the services, api = the
//                                 services with the HTTP API).
//   ports=8080,8081               each of these port numbers is replaced by a free loopback port.
//   dirs=/srv/apks                each of these folders is replaced by a temporary folder.
//   urls=https://host             each of these URLs is replaced by the fixture's local endpoint.
// Every directive must match text in its block, and an unknown directive or fixture fails the test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { FakeOss, apksignerVerify, freePort, standardApk, startMoto } from '@subpack/testing';
import { REPO_ROOT, checkChannelApks, inspectChannels, stackPerFile } from './harness';

const SHELLS = new Set(['bash', 'sh', 'shell']);
const DIRECTIVES = new Set(['no-run', 'fixture', 'ports', 'dirs', 'urls']);
const BLOCK_TIMEOUT_MS = 150_000;

interface Block {
  line: number;
  info: string;
  directives: Map<string, string>;
  text: string;
}

/** The fenced shell blocks of a Markdown text, with the line their fence opens on. */
function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    assert.ok(end > i, `README line ${i + 1}: the block is never closed`);
    if (SHELLS.has(open[1]!)) {
      const directives = new Map<string, string>();
      for (const word of open[2]!.trim().split(/\s+/).filter(Boolean)) {
        const [key, value = ''] = word.split('=', 2) as [string, string?];
        assert.ok(DIRECTIVES.has(key), `README line ${i + 1}: unknown block directive ${JSON.stringify(key)} (known: ${[...DIRECTIVES].join(', ')})`);
        directives.set(key, value);
      }
      blocks.push({ line: i + 1, info: lines[i]!.slice(3), directives, text: lines.slice(i + 1, end).join('\n') + '\n' });
    }
    i = end;
  }
  return blocks;
}

function list(value: string | undefined): string[] {
  return value ? value.split(',').filter(Boolean) : [];
}

interface RunResult {
  code: number | null;
  output: string;
}

interface Prepared {
  env?: Record<string, string>;
  /** Replaces each `urls=` entry. */
  endpoint?: string;
  check(result: RunResult, cwd: string): Promise<void>;
  stop?(): Promise<void>;
}

interface FixtureContext {
  cwd: string;
  dirs: Map<string, string>;
  master: string;
}

const EXAMPLE_CHANNELS = join(REPO_ROOT, 'examples', 'channels.txt');

/** Channel ids of a channels file (comments and extras left out). */
async function channelsOf(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(',')[0]!);
}

const stack = stackPerFile('readme');

const FIXTURES: Record<string, (ctx: FixtureContext) => Promise<Prepared>> = {
  async s3(ctx) {
    const moto = await startMoto();
    try {
      const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
      await s3.send(new CreateBucketCommand({ Bucket: 'releases' }));
      await s3.send(new PutObjectCommand({ Bucket: 'releases', Key: 'app-1.4.0.apk', Body: await readFile(ctx.master) }));
      await copyFile(EXAMPLE_CHANNELS, join(ctx.cwd, 'channels.txt'));
      const expected = await channelsOf(EXAMPLE_CHANNELS);
      return {
        env: moto.env,
        async check(result) {
          const lines = result.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { channel?: string; url?: string; error?: string });
          assert.deepEqual(lines.map((l) => l.channel).sort(), [...expected].sort(), 'one JSON line per channel');
          assert.ok(lines.every((l) => l.url?.startsWith('s3://releases/channels/1.4.0/') && l.error === undefined), JSON.stringify(lines));
          const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'releases', Prefix: 'channels/1.4.0/' }));
          const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.apk'));
          assert.equal(keys.length, expected.length, `objects: ${keys.join(', ')}`);
          const huawei = keys.find((k) => k.includes('huawei'));
          assert.ok(huawei, `a huawei object among ${keys.join(', ')}`);
          const body = await (await s3.send(new GetObjectCommand({ Bucket: 'releases', Key: huawei }))).Body!.transformToByteArray();
          const file = join(ctx.cwd, 'huawei-from-s3.apk');
          await writeFile(file, body);
          assert.deepEqual(await checkChannelApks(new Map([[file, 'huawei']])), []);
        },
        stop: () => moto.stop(),
      };
    } catch (err) {
      await moto.stop();
      throw err;
    }
  },

  async oss(ctx) {
    const fake = await FakeOss.start({ accessKeyId: 'LTAI5tEXAMPLE', accessKeySecret: 'EXAMPLEsecret', region: 'cn-hangzhou' });
    fake.createBucket('apks');
    fake.putObject('apks', 'app.apk', await readFile(ctx.master));
    await copyFile(EXAMPLE_CHANNELS, join(ctx.cwd, 'channels.txt'));
    const expected = await channelsOf(EXAMPLE_CHANNELS);
    return {
      endpoint: fake.endpoint,
      async check() {
        const stored = [...(fake.buckets.get('apks') ?? new Map<string, unknown>()).keys()].filter((k) => k.startsWith('channels/') && k.endsWith('.apk'));
        assert.equal(stored.length, expected.length, `objects: ${stored.join(', ')}`);
        const huawei = stored.find((k) => k.includes('huawei'));
        assert.ok(huawei, `a huawei object among ${stored.join(', ')}`);
        const file = join(ctx.cwd, 'huawei-from-oss.apk');
        await writeFile(file, fake.getObject('apks', huawei)!.data);
        assert.deepEqual(await checkChannelApks(new Map([[file, 'huawei']])), []);
      },
      stop: () => fake.stop(),
    };
  },

  async serve(ctx) {
    const dir = ctx.dirs.get('/srv/apks');
    assert.ok(dir, 'the serve block names /srv/apks as its folder');
    await copyFile(ctx.master, join(dir, 'game.apk'));
    return {
      async check(_result, cwd) {
        const file = join(cwd, 'game-huawei.apk');
        await apksignerVerify(file);
        const channels = await inspectChannels(file);
        assert.ok(channels.length > 0 && channels.every((c) => c.channel === 'huawei'), JSON.stringify(channels));
        assert.ok(channels.some((c) => c.extras?.build === '42'), `the app's extra is in the APK: ${JSON.stringify(channels)}`);
      },
    };
  },

  async stack(ctx) {
    await copyFile(ctx.master, join(ctx.cwd, 'app-release.apk'));
    return {
      async check(result, cwd) {
        const status = await stack.status('first-task');
        assert.equal(status.status, 'done', `${JSON.stringify(status)}\n${result.output.slice(-3000)}`);
        const out = join(cwd, 'out');
        const files = (await readdir(out)).filter((f) => f.endsWith('.apk'));
        assert.equal(files.length, 2, `out/: ${files.join(', ')}`);
        const expected = new Map(files.map((f) => [join(out, f), f.includes('huawei') ? 'huawei' : 'oppo']));
        assert.deepEqual(await checkChannelApks(expected), []);
      },
    };
  },

  async api(ctx) {
    await copyFile(ctx.master, join(ctx.cwd, 'app-release.apk'));
    return {
      async check(result, cwd) {
        const downloads = (await readdir(cwd)).filter((f) => /^download-.*\.apk$/.test(f)).sort();
        assert.deepEqual(downloads, ['download-huawei.apk', 'download-oppo.apk', 'download-xiaomi.apk'], result.output.slice(-3000));
        const expected = new Map(downloads.map((f) => [join(cwd, f), f.slice('download-'.length, -'.apk'.length)]));
        assert.deepEqual(await checkChannelApks(expected), []);
        const csv = (await readFile(join(cwd, 'channels.csv'), 'utf8')).replace(/^\uFEFF/, '').trim().split('\r\n');
        assert.equal(csv.length, 4, csv.join('\n'));
        assert.match(result.output, /event: end/, 'the live stream ran to its end');
        assert.match(result.output, /"cancelled": false/, 'the cancel of a finished task says it changed nothing');
      },
    };
  },
};

/** Runs a block in its own process group; whatever it left running in the background is stopped afterwards. */
async function runBlock(script: string, cwd: string, env: Record<string, string>): Promise<RunResult> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const timer = setTimeout(() => void stopGroup(child.pid!, 'SIGKILL'), BLOCK_TIMEOUT_MS);
  const [code] = await exited.finally(() => clearTimeout(timer));
  await stopGroup(child.pid!, 'SIGTERM');
  return { code, output };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the block's process group (its background jobs), escalating to SIGKILL after 20 s. */
async function stopGroup(pid: number, signal: NodeJS.Signals): Promise<void> {
  if (!groupAlive(pid)) return;
  process.kill(-pid, signal);
  const deadline = Date.now() + 20_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
}

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const blocks = shellBlocks(README);

describe('README shell blocks', () => {
  test('the README has shell blocks, and the ones the tests rely on', () => {
    assert.ok(blocks.length >= 5, `found ${blocks.length} shell blocks`);
    for (const fixture of Object.keys(FIXTURES)) {
      assert.ok(blocks.some((b) => b.directives.get('fixture') === fixture), `a block uses fixture=${fixture}`);
    }
  });

  for (const block of blocks) {
    const first = block.text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
    const name = `line ${block.line} (${block.info}): ${first.slice(0, 60)}`;
    if (block.directives.has('no-run')) {
      test(`${name} passes bash -n`, async () => {
        const result = await runBlock(`bash -n <<'SUBPACK_README_BLOCK'\n${block.text}SUBPACK_README_BLOCK\n`, stack.workDir, {});
        assert.equal(result.code, 0, result.output);
      });
      continue;
    }
    test(`${name} runs as written`, { timeout: BLOCK_TIMEOUT_MS + 60_000 }, async () => {
      const cwd = join(stack.workDir, `block-${block.line}`);
      await mkdir(cwd, { recursive: true });
      for (const entry of ['services', 'examples', 'node_modules']) await symlink(join(REPO_ROOT, entry), join(cwd, entry));
      let script = block.text;
      const substitute = (from: string, to: string, what: string): void => {
        const pattern = new RegExp(`(?<![\\w.])${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w])`, 'g');
        assert.ok(pattern.test(script), `README line ${block.line}: ${what} ${from} does not occur in the block`);
        script = script.replace(pattern, to);
      };
      for (const port of list(block.directives.get('ports'))) substitute(port, String(await freePort()), 'port');
      const dirs = new Map<string, string>();
      for (const dir of list(block.directives.get('dirs'))) {
        const local = join(cwd, `dir-${dirs.size}`);
        await mkdir(local);
        dirs.set(dir, local);
        substitute(dir, local, 'folder');
      }
      const fixtureName = block.directives.get('fixture');
      const fixture = fixtureName === undefined ? undefined : FIXTURES[fixtureName];
      assert.ok(fixtureName === undefined || fixture, `README line ${block.line}: unknown fixture ${JSON.stringify(fixtureName)}`);
      const prepared = fixture ? await fixture({ cwd, dirs, master: await standardApk('v1v2v3') }) : undefined;
      try {
        for (const url of list(block.directives.get('urls'))) {
          assert.ok(prepared?.endpoint, `README line ${block.line}: urls= needs a fixture with an endpoint`);
          substitute(url, prepared.endpoint, 'URL');
        }
        const result = await runBlock(script, cwd, {
          ...stack.env,
          ...prepared?.env,
          PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
        });
        assert.equal(result.code, 0, `README line ${block.line} failed:\n${script}\n--- output ---\n${result.output.slice(-6000)}`);
        await prepared?.check(result, cwd);
      } finally {
        await prepared?.stop?.();
      }
    });
  }
});
