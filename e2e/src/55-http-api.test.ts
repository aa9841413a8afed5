// The HTTP API end to end on real RabbitMQ, Redis and moto: a real signed APK uploaded with a tus client, a 50-channel
// task with Chinese ids to an s3:// destination followed over SSE, every presigned link fetched and verified, the CSV
// export, a second task cancelled mid-way with nothing written after; then the role walk over the OpenAPI document.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CHINESE_LABEL, largeApk, standardApk, startMoto, type MotoServer } from '@subpack/testing';
import { Upload } from 'tus-js-client';
import { checkChannelApks, delay, E2eStack, eventsFor, WebhookReceiver, type ServiceProcess } from './harness';

const ADMIN = { name: 'admin', password: 'e2e-admin-password-1' };
let stack: E2eStack;
let moto: MotoServer;
let s3: S3Client;
let api: ServiceProcess;

before(async () => {
  [stack, moto] = await Promise.all([E2eStack.create('api', { retryTiers: '1s,2s' }), startMoto()]);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'partners' }));
  const masters = await stack.makeDir('masters');
  const env = {
    ...moto.env,
    SUBPACK_MASTER_ROOTS: `file://${masters}`,
    SUBPACK_TARGET_ROOTS: 's3://partners',
    SUBPACK_BATCH_SIZE: '5',
  };
  await Promise.all([stack.start('packer', env), stack.start('uploader', env), stack.start('retry-scheduler', env)]);
  api = await stack.start('api', {
    ...env,
    SUBPACK_API_DESTINATIONS: 'partners=s3://partners/packs',
    SUBPACK_API_ADMIN: ADMIN.name,
    SUBPACK_API_ADMIN_PASSWORD: ADMIN.password,
    SUBPACK_API_LINK_KEY: 'e2e-link-key-0123456789abcdef0123456789',
    SUBPACK_API_CHECK_RESPONSES: 'true',
    SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
  });
});

after(async () => {
  await stack?.cleanup();
  s3?.destroy();
  await moto?.stop();
});

const base = (): string => `http://127.0.0.1:${api.port}/api/v1`;

/** A signed-in browser: the session cookie and the CSRF token it must send on writes. */
interface Caller {
  headers: Record<string, string>;
}

async function signIn(name: string, password: string): Promise<Caller> {
  const res = await fetch(`${base()}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const body = (await res.json()) as { csrfToken: string };
  return { headers: { cookie, 'x-csrf-token': body.csrfToken } };
}

async function call<T>(caller: Caller | null, method: string, path: string, body?: unknown, expect = 200): Promise<T> {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: { ...(caller?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assert.equal(res.status, expect, `${method} ${path}: ${text}`);
  return (text === '' ? undefined : text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T;
}

function tusUpload(caller: Caller, bytes: Buffer, filename: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(bytes, {
      endpoint: `${base()}/masters/uploads`,
      chunkSize: 256 * 1024,
      headers: caller.headers,
      metadata: { filename },
      retryDelays: [],
      onSuccess: (payload) => resolve({ status: payload.lastResponse.getStatus(), body: payload.lastResponse.getBody() }),
      onError: reject,
    });
    upload.start();
  });
}

/** Reads an SSE stream to its `end` event; returns every `task` event's data. */
async function follow(caller: Caller, taskId: string, timeoutMs: number): Promise<{ status: string; done: number; total: number }[]> {
  const res = await fetch(`${base()}/tasks/${encodeURIComponent(taskId)}/events`, { headers: caller.headers, signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const updates: { status: string; done: number; total: number }[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event === 'task' && data) updates.push(JSON.parse(data) as { status: string; done: number; total: number });
      if (event === 'end') return updates;
    }
  }
  return updates;
}

interface Master {
  id: string;
  label?: string;
  package: string;
}

test('upload, list, task to s3://, SSE to the end, every link verified, CSV export; a second task cancelled mid-way', { timeout: 600_000 }, async (t) => {
  const admin = await signIn(ADMIN.name, ADMIN.password);
  await call(admin, 'POST', '/users', { name: 'ops', role: 'operator', password: 'e2e-operator-password' }, 201);
  const ops = await signIn('ops', 'e2e-operator-password');
  const tap = await stack.eventTap();

  // A real signed APK through tus: the last PATCH answers with the inspected master.
  const apk = await readFile(await standardApk('chinese'));
  const uploaded = await tusUpload(ops, apk, 'game-release.apk');
  const master = JSON.parse(uploaded.body) as Master;
  assert.equal(master.label, CHINESE_LABEL, uploaded.body.slice(0, 500));
  assert.deepEqual((await call<Master>(ops, 'GET', `/masters/${master.id}`)).id, master.id);

  // A channels file with Chinese ids, CRLF and a comment.
  const ids = Array.from({ length: 50 }, (_, i) => `渠道-${String(i).padStart(2, '0')}`);
  const list = await call<{ id: string; channels: unknown[] }>(ops, 'POST', '/channel-lists', { name: '应用商店', text: `# stores\r\n${ids.join('\r\n')}\r\n` }, 201);
  assert.equal(list.channels.length, 50);
  const bad = await call<{ errors: { line: number }[] }>(ops, 'POST', '/channel-lists', { name: 'bad', text: `ok\nbad\u202Eid\nok\n` }, 422);
  assert.deepEqual(bad.errors.map((e) => e.line).sort(), [2, 3]);

  const order = { master: master.id, channelList: list.id, destination: 'partners', naming: '{package}-{channel}.apk' };
  const preview = await call<{ channels: number; names: { name: string }[] }>(ops, 'POST', '/tasks/preview', order);
  assert.equal(preview.channels, 50);
  assert.equal(preview.names[0]!.name, `${master.package}-${ids[0]}.apk`);
  const created = await call<{ taskId: string }>(ops, 'POST', '/tasks', order, 201);

  const updates = await follow(ops, created.taskId, 240_000);
  const last = updates[updates.length - 1]!;
  assert.equal(last.status, 'done', JSON.stringify(last));
  assert.equal(last.done, 50);
  t.diagnostic(`${updates.length} SSE updates for 50 channels`);

  // Every presigned link downloads a verified APK with its channel.
  const links = await call<{ items: { channel: string; url: string }[]; nextCursor: string | null }>(ops, 'GET', `/tasks/${created.taskId}/links?limit=100`);
  assert.equal(links.items.length, 50);
  const dir = await stack.makeDir('downloads');
  const expected = new Map<string, string>();
  const md5s = new Map<string, string>();
  for (const [i, link] of links.items.entries()) {
    const res = await fetch(link.url);
    assert.equal(res.status, 200, link.url);
    const bytes = Buffer.from(await res.arrayBuffer());
    const file = join(dir, `${i}.apk`);
    await writeFile(file, bytes);
    expected.set(file, link.channel);
    md5s.set(link.channel, createHash('md5').update(bytes).digest('hex'));
  }
  assert.deepEqual(await checkChannelApks(expected), []);

  const csv = await call<string>(ops, 'GET', `/tasks/${created.taskId}/export?format=csv`);
  const rows = csv.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.equal(rows[0], 'channel,url,bytes,md5,sha256');
  assert.equal(rows.length, 51);
  for (const row of rows.slice(1)) {
    const [channel, , , md5] = row.split(',');
    assert.equal(md5, md5s.get(channel!), row);
  }

  // A second task, cancelled while it runs: it ends cancelled, and nothing is written after the cancel answered.
  const bigMaster = JSON.parse((await tusUpload(ops, await readFile(await largeApk()), 'big.apk')).body) as Master;
  const many = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}` }));
  const second = await call<{ taskId: string }>(ops, 'POST', '/tasks', { master: bigMaster.id, channels: many, destination: 'partners' }, 201);
  for (let i = 0; i < 600; i++) {
    const s = await call<{ done: number }>(ops, 'GET', `/tasks/${second.taskId}`);
    if (s.done >= 5) break;
    await delay(100);
  }
  const cancelled = await call<{ status: string; cancelled: boolean }>(ops, 'POST', `/tasks/${second.taskId}/cancel`);
  assert.equal(cancelled.status, 'cancelled');
  const listing = async (): Promise<string> => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: 'partners', Prefix: `packs/${second.taskId}/` }));
    return (out.Contents ?? []).map((o) => `${o.Key} ${o.ETag} ${o.Size}`).sort().join('\n');
  };
  const atCancel = await listing();
  await delay(6000);
  assert.equal(await listing(), atCancel, 'no object was written after the cancel');
  const after = await call<{ status: string; done: number; total: number }>(ops, 'GET', `/tasks/${second.taskId}`);
  assert.equal(after.status, 'cancelled');
  assert.ok(after.done < after.total, `cancelled mid-way (${after.done} of ${after.total})`);
  const results = await call<{ items: { channel: string; url?: string }[] }>(ops, 'GET', `/tasks/${second.taskId}/channels?limit=1000`);
  // Channel APKs only: composing in the store keeps a staged copy of the master under .subpack/.
  const channelObjects = atCancel.split('\n').filter((line) => line !== '' && !line.includes('/.subpack/'));
  assert.equal(channelObjects.length, after.done, `${atCancel}\n${JSON.stringify(results.items.map((r) => r.url))}`);
  assert.equal(eventsFor(tap.messages, second.taskId, 'task.cancelled').length, 1);
  assert.equal(eventsFor(tap.messages, second.taskId, 'task.completed').length, 0);

  // The list, filtered and paged: both tasks are ops's; one is done, one cancelled.
  const mine = await call<{ items: { taskId: string; status: string }[] }>(ops, 'GET', '/tasks?creator=ops&limit=10');
  assert.deepEqual(mine.items.map((i) => i.taskId), [second.taskId, created.taskId], 'newest first');
  const done = await call<{ items: { taskId: string }[] }>(ops, 'GET', '/tasks?state=done');
  assert.deepEqual(done.items.map((i) => i.taskId), [created.taskId]);
  const first = await call<{ items: { taskId: string }[]; nextCursor: string | null }>(ops, 'GET', '/tasks?limit=1');
  assert.equal(first.items.length, 1);
  const next = await call<{ items: { taskId: string }[] }>(ops, 'GET', `/tasks?limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
  assert.notEqual(next.items[0]?.taskId, first.items[0]!.taskId, 'the next page goes on from the cursor');
  const detail = await call<{ channelsPerSecond: number; etaSeconds: number | null }>(ops, 'GET', `/tasks/${created.taskId}`);
  assert.ok(detail.channelsPerSecond > 0 && detail.etaSeconds === null, JSON.stringify(detail));

  // The throughput chart counts the channels stored (50 + the cancelled task's) from the events.
  const system = await call<{ throughput: { stored: number }[]; services: { service: string; ready: boolean }[] }>(admin, 'GET', '/system');
  assert.ok(system.throughput.reduce((n, m) => n + m.stored, 0) >= 50, JSON.stringify(system.throughput.filter((m) => m.stored > 0)));
  assert.ok(system.services.find((s) => s.service === 'packer')?.ready, JSON.stringify(system.services));

  const audit = await call<{ items: { actor: string; action: string }[] }>(admin, 'GET', '/audit?limit=100');
  assert.ok(audit.items.some((a) => a.actor === 'ops' && a.action === 'cancelTask'), JSON.stringify(audit.items.slice(0, 5)));
});

test('the OpenAPI document is valid, and every write route refuses an anonymous caller and a viewer', { timeout: 120_000 }, async () => {
  const doc = await call<{ paths: Record<string, Record<string, { 'x-subpack-role': string; operationId: string }>> }>(null, 'GET', '/openapi.json');
  // The validator is an ES module; this file is CommonJS.
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.ok(result.valid, String(JSON.stringify(result.errors)).slice(0, 2000));

  const admin = await signIn(ADMIN.name, ADMIN.password);
  await call(admin, 'POST', '/users', { name: 'watcher', role: 'viewer', password: 'e2e-viewer-password' }, 201);
  const viewerToken = await call<{ token: string }>(admin, 'POST', '/tokens', { name: 'dashboard', role: 'viewer' }, 201);
  const viewers: [string, Caller][] = [
    ['viewer session', await signIn('watcher', 'e2e-viewer-password')],
    ['viewer token', { headers: { authorization: `Bearer ${viewerToken.token}` } }],
  ];
  const checked: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const role = op['x-subpack-role'];
      if (!['post', 'put', 'patch', 'delete'].includes(method) || role === 'public' || role === 'viewer') continue;
      const url = path.replace(/^\/api\/v1/, '').replace(/\{[A-Za-z]+\}/g, 'x');
      const anonymous = await fetch(`${base()}${url}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(anonymous.status, 401, `${method} ${path} anonymous`);
      for (const [label, caller] of viewers) {
        const res = await fetch(`${base()}${url}`, { method: method.toUpperCase(), headers: { ...caller.headers, 'content-type': 'application/json' }, body: '{}' });
        assert.equal(res.status, 403, `${method} ${path} as ${label}: ${await res.text()}`);
      }
      checked.push(op.operationId);
    }
  }
  assert.ok(checked.length >= 15, `checked ${checked.length} write routes: ${checked.join(', ')}`);

  // Every documented operation exists on the running server: an anonymous call is refused or answered, never "no
  // such endpoint".
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) {
      const url = path.replace(/^\/api\/v1/, '').replace(/\{[A-Za-z]+\}/g, 'x');
      const res = await fetch(`${base()}${url}`, { method: method.toUpperCase(), ...(method === 'get' || method === 'head' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
      const text = await res.text();
      assert.ok(!/no endpoint/.test(text) && res.status !== 405, `${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    }
  }

  // "Send a test": signed and sent through the notifier's checks; a host off the allowlist is refused with the reason.
  const receiver = await WebhookReceiver.start();
  try {
    const secret = `whsec_${Buffer.from('e2e-test-delivery-secret-0123456789').toString('base64')}`;
    const sent = await call<{ delivered: boolean; signed: boolean; status: number }>(admin, 'POST', '/notify/test', { url: receiver.url('/hook'), format: 'json', secret });
    assert.deepEqual([sent.delivered, sent.signed, sent.status], [true, true, 200]);
    const got = receiver.requests.at(-1)!;
    assert.match(String(got.headers['webhook-signature']), /^v1,/);
    assert.equal((JSON.parse(got.body) as { type: string }).type, 'task.completed');
    const refused = await call<{ detail: string }>(admin, 'POST', '/notify/test', { url: 'https://hooks.example.com/x' }, 422);
    assert.match(refused.detail, /SUBPACK_NOTIFY_ALLOWED_HOSTS/);
  } finally {
    await receiver.close();
  }

  // A signed-in write without the CSRF token is refused, even for an admin.
  const { cookie } = admin.headers;
  const forged = await fetch(`${base()}/destinations`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', url: 's3://partners/x' }) });
  assert.equal(forged.status, 403);
  assert.equal(((await forged.json()) as { code: string }).code, 'CSRF_TOKEN_MISSING');
});
