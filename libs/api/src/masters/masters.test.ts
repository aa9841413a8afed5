import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Upload } from 'tus-js-client';
import { CHINESE_ICON_ENTRY, CHINESE_LABEL, makeTempDir, removeDir, standardApk, unsignedApk } from '@subpack/testing';
import { StorageRoots } from '@subpack/storage';
import { roleAllows } from '../accounts';
import { ApiRouter } from '../http/router';
import { masterRoutes } from '../routes/masters.routes';
import type { ApiServices } from '../services';
import { MasterRegistry, MasterUploads, type MasterRecord } from './index';

const BASE = '/api/v1/masters/uploads';
let dir: string;
let uploadDir: string;
let redis: Redis;
let registry: MasterRegistry;
let uploads: MasterUploads;
let server: Server;
let endpoint: string;
const prefix = `test:masters:${process.pid}:`;

before(async () => {
  dir = await makeTempDir('subpack-masters-');
  uploadDir = join(dir, 'uploads');
  redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false });
  uploads = await MasterUploads.create({
    root: { kind: 'file', directory: uploadDir },
    basePath: BASE,
    maxBytes: 64 * 1024 * 1024,
    onUploaded: (upload, owner) => registry.fromUpload(upload, owner),
  });
  registry = new MasterRegistry({ redis, keyPrefix: prefix, roots: StorageRoots.parse(pathToFileURL(dir).href, 'SUBPACK_MASTER_ROOTS'), uploads });
  server = createServer((req, res) => {
    // Stands in for the API's authentication: the user name comes from a header here.
    void uploads.handle(req, res, String(req.headers['x-test-user'] ?? 'alice'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}${BASE}`;
});

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await uploads.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  redis.disconnect();
  await removeDir(dir);
});

function upload(path: string, size: number, opts: { filename?: string; chunkSize?: number; user?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new Upload(createReadStream(path), {
      endpoint,
      uploadSize: size,
      chunkSize: opts.chunkSize ?? 64 * 1024,
      retryDelays: [],
      metadata: { filename: opts.filename ?? 'game.apk' },
      headers: { 'x-test-user': opts.user ?? 'alice' },
      onSuccess: (payload) => resolve({ status: payload.lastResponse.getStatus(), body: payload.lastResponse.getBody() }),
      onError: (err) => {
        const res = (err as { originalResponse?: { getStatus(): number; getBody(): string } | null }).originalResponse;
        if (res) resolve({ status: res.getStatus(), body: res.getBody() });
        else reject(err);
      },
    });
    u.start();
  });
}

test('a signed APK uploaded in chunks over tus is inspected and recorded, Chinese label and all', async () => {
  const apk = await standardApk('chinese');
  const { size } = await stat(apk);
  const res = await upload(apk, size, { filename: '../../etc/王者.apk' });
  assert.equal(res.status, 200, res.body);
  const record = JSON.parse(res.body) as MasterRecord;
  assert.equal(record.label, CHINESE_LABEL);
  assert.equal(record.package, 'com.example.chinese');
  assert.equal(record.filename, '../../etc/王者.apk', 'kept as text');
  assert.equal(record.uploadedBy, 'alice');
  assert.equal(record.size, size);
  assert.equal(record.origin, 'upload');
  assert.deepEqual(record.schemes, ['v1', 'v2', 'v3']);
  assert.ok(record.signingBlock && record.signingBlock.pairs.length > 0);
  assert.deepEqual(record.formats.filter((f) => f.usable).map((f) => f.format), ['walle', 'vasdolly']);
  assert.match(record.formats.find((f) => f.format === 'meta-inf')?.reason ?? '', /v2\/v3 signature/);
  const stored = new URL(record.url);
  assert.equal(stored.protocol, 'file:');
  assert.equal(join(uploadDir, record.id), decodeURIComponent(stored.pathname), 'the id names the file, never the client');
  assert.deepEqual(await readFile(decodeURIComponent(stored.pathname)), await readFile(apk));
  assert.deepEqual(await registry.get(record.id), record);

  // The launcher icon: named in the record, served by GET /masters/{id}/icon as aapt stored it.
  const iconBytes = execFileSync('unzip', ['-p', apk, CHINESE_ICON_ENTRY]);
  assert.deepEqual(record.icon, { entry: CHINESE_ICON_ENTRY, bytes: iconBytes.length });
  const icon = await getViaRouter(`/api/v1/masters/${record.id}/icon`);
  assert.equal(icon.status, 200);
  assert.equal(icon.headers['content-type'], 'image/png');
  assert.equal(icon.headers['x-content-type-options'], 'nosniff');
  assert.equal(icon.headers['cache-control'], 'private, max-age=3600');
  assert.ok(icon.body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'the PNG signature');
  assert.ok(icon.body.equals(iconBytes));
});

test('an unsigned APK and a file that is not an APK are refused with the reason, and deleted', async () => {
  const unsigned = await unsignedApk();
  const before = await readdir(uploadDir);
  const res = await upload(unsigned, (await stat(unsigned)).size, { filename: 'unsigned.apk' });
  assert.equal(res.status, 422);
  const problem = JSON.parse(res.body) as { code: string; detail: string };
  assert.equal(problem.code, 'NOT_SIGNED');
  assert.match(problem.detail, /^unsigned\.apk: not signed/);
  assert.ok(!problem.detail.includes(dir), 'no server path in the answer');

  const text = join(dir, 'notes.txt');
  await writeFile(text, 'not a zip at all\n'.repeat(100));
  const res2 = await upload(text, (await stat(text)).size, { filename: 'notes.apk' });
  assert.equal(res2.status, 422);
  assert.equal((JSON.parse(res2.body) as { code: string }).code, 'NOT_A_ZIP');

  const apk = await readFile(await standardApk('v2Only'));
  const cut = join(dir, 'cut.apk');
  await writeFile(cut, apk.subarray(0, apk.length - 100));
  const res3 = await upload(cut, apk.length - 100, { filename: 'cut.apk' });
  assert.equal(res3.status, 422);
  assert.deepEqual(await readdir(uploadDir), before, 'refused uploads leave nothing behind');
});

test('uploads over the size limit are refused before any byte is stored', async () => {
  const res = await tusRequest('POST', BASE, { 'Upload-Length': String(65 * 1024 * 1024), 'Upload-Metadata': `filename ${Buffer.from('big.apk').toString('base64')}` });
  assert.equal(res.status, 413);
});

test("another user's upload is answered as missing", async () => {
  const created = await tusRequest('POST', BASE, { 'Upload-Length': '100' }, 'alice');
  assert.equal(created.status, 201);
  const location = created.headers.location ?? '';
  assert.match(location, new RegExp(`^${BASE}/[0-9a-f]{32}$`));
  assert.equal((await tusRequest('HEAD', location, {}, 'mallory')).status, 404);
  assert.equal((await tusRequest('HEAD', location, {}, 'alice')).status, 200);
  assert.equal((await tusRequest('HEAD', `${BASE}/..%2f..%2fetc`, {}, 'alice')).status, 404);
  assert.equal((await tusRequest('DELETE', location, {}, 'alice')).status, 204);
});

test('an upload aborted mid-body frees its file descriptors', async () => {
  const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
  const created = await tusRequest('POST', BASE, { 'Upload-Length': String(8 * 1024 * 1024) });
  const location = created.headers.location ?? '';
  await new Promise((r) => setTimeout(r, 100));
  const baseline = await fds();
  await new Promise<void>((resolve) => {
    const req = request(`${endpoint.replace(BASE, '')}${location}`, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(8 * 1024 * 1024), 'x-test-user': 'alice' },
    });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(1024 * 1024));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 200);
  });
  let now = await fds();
  for (let i = 0; i < 50 && now > baseline; i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = await fds();
  }
  assert.ok(now <= baseline, `${now} descriptors open, ${baseline} before the upload`);
  const head = await tusRequest('HEAD', location, {});
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers['upload-offset']) > 0, 'what arrived is kept, so the client can resume');
});

test('registered masters: roots enforced, paged newest first, deleted without touching the file, refused while in use', async () => {
  const apk = join(dir, 'registered.apk');
  await writeFile(apk, await readFile(await standardApk('v1Only')));
  await assert.rejects(registry.register('file:///etc/passwd', 'bob'), (err: { code?: string }) => err.code === 'OUTSIDE_ROOTS');
  await assert.rejects(registry.register(`${pathToFileURL(dir).href}/../outside.apk`, 'bob'), (err: { code?: string }) => err.code === 'OUTSIDE_ROOTS');
  const record = await registry.register(pathToFileURL(apk).href, 'bob');
  assert.equal(record.origin, 'registered');
  assert.deepEqual(record.formats.filter((f) => f.usable).map((f) => f.format), ['v1-comment', 'meta-inf']);
  await assert.rejects(registry.register(pathToFileURL(apk).href, 'bob'), (err: { code?: string }) => err.code === 'ALREADY_EXISTS');
  assert.equal(record.icon, null, 'the v1Only fixture has no launcher icon');
  const noIcon = await getViaRouter(`/api/v1/masters/${record.id}/icon`);
  assert.equal(noIcon.status, 404);
  assert.match(noIcon.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal((JSON.parse(noIcon.body.toString()) as { code: string }).code, 'NOT_FOUND');
  assert.equal((await getViaRouter(`/api/v1/masters/${'0'.repeat(32)}/icon`)).status, 404);

  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.list({ limit: 1, ...(cursor ? { cursor } : {}) });
    seen.push(...page.items.map((m) => m.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.equal(seen[0], record.id, 'newest first');
  assert.equal(new Set(seen).size, seen.length);

  await assert.rejects(registry.delete(record.id, async () => true), (err: { code?: string; message: string }) => err.code === 'CONFLICT' && /running task/.test(err.message));
  await registry.delete(record.id, async () => false);
  await assert.rejects(registry.get(record.id), (err: { code?: string }) => err.code === 'NOT_FOUND');
  await stat(apk);

  const uploaded = (await registry.list({ limit: 50 })).items.find((m) => m.origin === 'upload');
  assert.ok(uploaded);
  await registry.delete(uploaded.id, async () => false);
  await assert.rejects(stat(join(uploadDir, uploaded.id)), { code: 'ENOENT' });
});

/** A GET through the API's router and its master routes, as a viewer. */
async function getViaRouter(path: string): Promise<{ status: number; headers: Record<string, string | undefined>; body: Buffer }> {
  const router = new ApiRouter(masterRoutes({ registry, uploads: () => uploads }, {} as ApiServices), {
    authenticator: {
      authenticate: async () => ({ kind: 'token', name: 'viewer', role: 'viewer', tokenId: 'test' }),
      csrfOk: () => true,
      allows: roleAllows,
    },
    audit: async () => {},
    onError: (err) => {
      throw err;
    },
    trustProxy: false,
    checkResponses: true,
  });
  const routed = createServer((req, res) => {
    void router.handle(req, res);
  });
  await new Promise<void>((r) => routed.listen(0, '127.0.0.1', r));
  try {
    const { port } = routed.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
  } finally {
    routed.closeAllConnections();
    await new Promise((r) => routed.close(r));
  }
}

function tusRequest(method: string, path: string, headers: Record<string, string>, user = 'alice'): Promise<{ status: number; headers: Record<string, string | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint.replace(BASE, '')}${path}`, { method, headers: { 'Tus-Resumable': '1.0.0', 'x-test-user': user, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string | undefined>, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('an upload folder the API cannot create stops the start with the folder and the fix, not a crash of the file store later', async () => {
  const notADirectory = join(dir, 'a-file');
  await writeFile(notADirectory, 'x');
  const folder = join(notADirectory, 'uploads');
  await assert.rejects(
    MasterUploads.create({ root: { kind: 'file', directory: folder }, basePath: BASE, maxBytes: 1024, onUploaded: () => Promise.reject(new Error('no upload expected')) }),
    (err: Error) => err.message.startsWith(`cannot keep uploads in ${folder} (uploads/ under the first file:// root of SUBPACK_MASTER_ROOTS)`) && /ENOTDIR/.test(err.message) && /make it writable/.test(err.message),
  );
});
