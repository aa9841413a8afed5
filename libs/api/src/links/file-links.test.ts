import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { StorageRoots } from '@subpack/storage';
import { FileLinks, LinkError, serveFile } from './index';

const KEY = 'k'.repeat(32);
let dir: string;
let apk: Buffer;
let fileUrl: string;
let server: Server;
let base: string;
let clock = Date.now();
const links = new FileLinks(KEY, () => clock);

before(async () => {
  dir = await makeTempDir('subpack-links-');
  apk = await readFile(await standardApk('v2Only'));
  await writeFile(join(dir, 'game-华为.apk'), apk);
  fileUrl = pathToFileURL(join(dir, 'game-华为.apk')).href;
  await symlink('/etc/hostname', join(dir, 'escape.apk'));
  const roots = StorageRoots.parse(pathToFileURL(dir).href, 'SUBPACK_TARGET_ROOTS');
  server = createServer((req, res) => {
    // As the API route does: verify the token, then serve what it names.
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    void (async () => {
      try {
        const subject = links.verify(token);
        if (subject.kind !== 'file') throw new LinkError('NOT_FOUND', 'no such file');
        await serveFile(req, res, subject.url, roots);
      } catch (err) {
        res.statusCode = err instanceof LinkError ? (err.code === 'FORBIDDEN' ? 403 : 404) : 500;
        res.end((err as Error).message);
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  base = `http://127.0.0.1:${address.port}/`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await removeDir(dir);
});

function link(url = fileUrl, seconds = 60): string {
  return `${base}?token=${links.sign({ kind: 'file', url }, seconds).token}`;
}

test('the whole file (200), a range (206), a suffix range, an unsatisfiable one (416) and HEAD', async () => {
  const whole = await fetch(link());
  assert.equal(whole.status, 200);
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), apk);
  assert.equal(whole.headers.get('content-type'), 'application/vnd.android.package-archive');
  assert.equal(whole.headers.get('content-disposition'), `attachment; filename="game-__.apk"; filename*=UTF-8''game-%E5%8D%8E%E4%B8%BA.apk`);
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');

  const part = await fetch(link(), { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-199/${apk.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), apk.subarray(100, 200));

  const tail = await fetch(link(), { headers: { Range: 'bytes=-22' } });
  assert.equal(tail.status, 206);
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), apk.subarray(apk.length - 22));

  const stale = await fetch(link(), { headers: { Range: 'bytes=0-9', 'If-Range': '"another-version"' } });
  assert.equal(stale.status, 200, 'a range of a different version is never spliced');
  await stale.arrayBuffer();

  const beyond = await fetch(link(), { headers: { Range: `bytes=${apk.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${apk.length}`);

  const head = await fetch(link(), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(apk.length));
  assert.equal((await head.arrayBuffer()).byteLength, 0);

  const cached = await fetch(link(), { headers: { 'If-None-Match': whole.headers.get('etag') ?? '' } });
  assert.equal(cached.status, 304);
});

test('a forged, altered or expired token is refused', async () => {
  const { token } = links.sign({ kind: 'file', url: fileUrl }, 60);
  const [body, mac] = token.split('.') as [string, string];
  const other = Buffer.from(JSON.stringify({ s: { kind: 'file', url: pathToFileURL('/etc/passwd').href }, e: 9999999999 })).toString('base64url');
  assert.equal((await fetch(`${base}?token=${other}.${mac}`)).status, 403, 'another subject under a real MAC');
  assert.equal((await fetch(`${base}?token=${body}.${mac.slice(0, -2)}AA`)).status, 403);
  assert.equal((await fetch(`${base}?token=${new FileLinks('x'.repeat(32)).sign({ kind: 'file', url: fileUrl }, 60).token}`)).status, 403, 'signed with another key');
  assert.equal((await fetch(`${base}?token=garbage`)).status, 403);

  const short = link(fileUrl, 5);
  clock += 6000;
  const expired = await fetch(short);
  assert.equal(expired.status, 403);
  assert.match(await expired.text(), /expired/);
  clock = Date.now();
});

test('channel subjects round-trip; files outside the target roots are not served even with a valid token', async () => {
  assert.deepEqual(links.verify(links.sign({ kind: 'channel', taskId: 'release-1', channel: 'Huawei Store' }, 60).token), { kind: 'channel', taskId: 'release-1', channel: 'Huawei Store' });
  assert.equal((await fetch(link(pathToFileURL(join(dir, 'escape.apk')).href))).status, 404, 'a link inside the root leading out of it');
  assert.equal((await fetch(link('file:///etc/passwd'))).status, 404);
  assert.throws(() => new FileLinks('short'), /32 bytes/);
});

test('a download the client abandons closes its file', async () => {
  const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
  const baseline = await fds();
  for (let i = 0; i < 5; i++) {
    const controller = new AbortController();
    const res = await fetch(link(), { signal: controller.signal });
    controller.abort();
    await res.body?.cancel().catch(() => undefined);
  }
  let now = await fds();
  for (let i = 0; i < 30 && now > baseline; i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = await fds();
  }
  assert.ok(now <= baseline, `${now} descriptors open, ${baseline} before`);
});
