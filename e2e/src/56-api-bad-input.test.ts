// The HTTP API's bad-input and security guarantees on the real stack: no secret (an admin password, an S3 key, a
// notify secret, a webhook token, an API token, a session, a parked message's token) in any later answer, in the
// API's output or in an event; what aborted SSE clients, uploads and slow bodies held is freed; hostile requests are
// answered with problem documents, and hostile strings that are accepted come back verbatim as JSON strings.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { standardApk, startMoto, type MotoServer } from '@subpack/testing';
import { delay, E2eStack, fileUrl, type QueueSpy, type ServiceProcess } from './harness';
import { ApiClient, asProblemDocument, type ApiAnswer, type ApiCaller } from './harness/api-client';

const run = randomBytes(4).toString('hex');
const SECRETS = {
  adminPassword: `admin-pw-${run}-Zq8`,
  s3Secret: `s3-secret-${run}-0123456789abcdef`,
  linkKey: `link-key-${run}-0123456789abcdef0123456789`,
  whsec: `whsec_${Buffer.from(`notify-secret-${run}-0123456789`).toString('base64').replace(/=+$/, '')}`,
  webhookToken: `hooktoken${run}abcdef`,
  operatorPassword: `operator-pw-${run}-Xy1`,
  parkedToken: `parkedtoken${run}0123`,
  parkedSecret: `parked-secret-${run}`,
};

let stack: E2eStack;
let moto: MotoServer;
let apiProcess: ServiceProcess;
let packer: ServiceProcess;
let api: ApiClient;
let tap: QueueSpy;
let admin: ApiCaller & { cookie: string; csrfToken: string };
let operatorToken: string;
let masterId: string;

before(async () => {
  [stack, moto] = await Promise.all([E2eStack.create('api-bad-input'), startMoto()]);
  const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'partners' }));
  s3.destroy();
  const env = {
    ...moto.env,
    AWS_SECRET_ACCESS_KEY: SECRETS.s3Secret,
    ...stack.rootsEnv,
    SUBPACK_TARGET_ROOTS: 's3://partners',
    SUBPACK_BATCH_SIZE: '5',
  };
  [packer] = await Promise.all([stack.start('packer', env), stack.start('uploader', env), stack.start('retry-scheduler', env)]);
  apiProcess = await stack.start('api', {
    ...env,
    LOG_LEVEL: 'debug',
    SUBPACK_API_DESTINATIONS: 'partners=s3://partners/packs',
    SUBPACK_API_ADMIN: 'admin',
    SUBPACK_API_ADMIN_PASSWORD: SECRETS.adminPassword,
    SUBPACK_API_LINK_KEY: SECRETS.linkKey,
    SUBPACK_API_CHECK_RESPONSES: 'true',
  });
  api = new ApiClient(apiProcess);
  tap = await stack.eventTap();
  admin = await api.signIn('admin', SECRETS.adminPassword);
  operatorToken = (await api.json<{ token: string }>(admin, 'POST', '/tokens', { name: 'robot', role: 'operator' }, 201)).token;
  masterId = (await api.json<{ id: string }>(admin, 'POST', '/masters', { url: fileUrl(await standardApk('v2Only')) }, 201)).id;
});

after(async () => {
  await stack?.cleanup();
  await moto?.stop();
});

const bearer = (): ApiCaller => ({ headers: { authorization: `Bearer ${operatorToken}` } });

function headerText(answer: ApiAnswer): string {
  return [...answer.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** Every secret string found in `text`, by name. */
function secretsIn(text: string, secrets: Readonly<Record<string, string>>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

test('no secret appears in any answer after the one that shows it, in the API\'s output or in an event', { timeout: 120_000 }, async () => {
  const secrets: Record<string, string> = { ...SECRETS, operatorToken, adminSession: admin.cookie.split('=')[1]! };
  const answers: { what: string; answer: ApiAnswer }[] = [];
  const call = async (caller: ApiCaller | null, method: string, path: string, body?: unknown, expect = 200): Promise<ApiAnswer> => {
    const answer = await api.request(caller, method, path, body);
    assert.equal(answer.status, expect, `${method} ${path}: ${answer.text.slice(0, 1000)}`);
    answers.push({ what: `${method} ${path}`, answer });
    return answer;
  };

  // A parked message whose body carries a token in a URL and a secret under a secret-like key.
  const parkedBody = { taskId: `parked-${run}`, notify: { webhook: `https://hooks.example.com/p?token=${SECRETS.parkedToken}` }, secret: SECRETS.parkedSecret };
  await stack.publishTask(parkedBody, { exchange: 'subpack.parked', routingKey: 'task.pack', messageId: `parked-${run}`, headers: { 'x-subpack-error': 'a test parking' } });

  // Another sign-in: its answer may show its own session and CSRF token, no other secret.
  const login = await api.request(null, 'POST', '/session', { name: 'admin', password: SECRETS.adminPassword });
  assert.equal(login.status, 200);
  assert.deepEqual(secretsIn(login.text + headerText(login), secrets), [], 'the sign-in answer');
  const failedLogin = await api.request(null, 'POST', '/session', { name: 'admin', password: `${SECRETS.adminPassword}-wrong` });
  assert.equal(failedLogin.status, 401);
  answers.push({ what: 'failed sign-in', answer: failedLogin });

  await call(admin, 'GET', '/session');
  await call(admin, 'POST', '/users', { name: 'ops', role: 'operator', password: SECRETS.operatorPassword }, 201);
  await call(admin, 'GET', '/users');
  await call(admin, 'GET', '/tokens');
  // The created token is shown once, in its own answer only.
  const created = await api.json<{ token: string; id: string }>(admin, 'POST', '/tokens', { name: 'viewer-robot', role: 'viewer' }, 201);
  secrets['viewerToken'] = created.token;
  await call(admin, 'GET', '/tokens');
  await call({ headers: { authorization: `Bearer ${created.token}` } }, 'GET', '/tasks');

  const notify = [
    { url: `https://oapi.dingtalk.com/robot/send?access_token=${SECRETS.webhookToken}`, format: 'dingtalk', level: 'error' },
    { url: 'https://hooks.example.com/subpack', format: 'json', secret: SECRETS.whsec },
  ];
  const order = { master: masterId, channels: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], destination: 'partners', notify };
  await call(bearer(), 'POST', '/tasks/preview', order);
  const task = JSON.parse((await call(bearer(), 'POST', '/tasks', order, 201)).text) as { taskId: string };
  for (let i = 0; i < 300; i++) {
    const view = await api.json<{ status: string }>(bearer(), 'GET', `/tasks/${task.taskId}`);
    if (view.status === 'done') break;
    assert.ok(!['failed', 'partial', 'cancelled'].includes(view.status), JSON.stringify(view));
    await delay(100);
  }
  await call(bearer(), 'GET', `/tasks/${task.taskId}`);
  await call(bearer(), 'GET', '/tasks');
  await call(bearer(), 'GET', `/tasks/${task.taskId}/channels`);
  await call(bearer(), 'GET', `/tasks/${task.taskId}/export?format=csv`);
  await call(bearer(), 'GET', `/tasks/${task.taskId}/export?format=json`);
  await call(bearer(), 'GET', `/tasks/${task.taskId}/links`);
  const parked = JSON.parse((await call(bearer(), 'GET', '/parked')).text) as { items: { id: string; body: string }[] };
  assert.ok(parked.items.some((p) => p.id === `parked-${run}` && p.body.includes(parkedBody.taskId)), JSON.stringify(parked.items).slice(0, 1000));
  await call(bearer(), 'GET', '/system');
  await call(admin, 'GET', '/audit?limit=100');
  await call(bearer(), 'GET', '/openapi.json');

  const leaks = answers.flatMap(({ what, answer }) => secretsIn(answer.text + headerText(answer), secrets).map((name) => `${name} in ${what}`));
  assert.deepEqual(leaks, [], 'secrets in answers');
  const output = apiProcess.outputTail(8 * 1024 * 1024);
  assert.ok(apiProcess.logRecords().length >= 3, `the API logged:\n${output.slice(-2000)}`);
  assert.deepEqual(secretsIn(output, secrets), [], 'secrets in the API output');
  await stack.waitForEvent(tap, task.taskId, 'task.completed', 30_000);
  const events = tap.messages.map((m) => m.body.toString('utf8')).join('\n');
  assert.ok(events.includes(task.taskId));
  assert.deepEqual(secretsIn(events, secrets), [], 'secrets in events');
});

function fdCount(pid: number): Promise<number> {
  return readdir(`/proc/${pid}/fd`).then((fds) => fds.length);
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
}

/** A raw request (headers in `headers`), returned before its body is sent, with its answer when one comes. */
function rawRequest(method: string, path: string, headers: Record<string, string | number>): { req: ReturnType<typeof httpRequest>; answer: Promise<IncomingMessage> } {
  const req = httpRequest({ host: '127.0.0.1', port: apiProcess.port, method, path: `/api/v1${path}`, headers, agent: false });
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, answer };
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/** An SSE client that reads the first bytes of the stream, then goes away. */
async function sseAndAbort(path: string): Promise<void> {
  const { req, answer } = rawRequest('GET', path, { authorization: `Bearer ${operatorToken}`, accept: 'text/event-stream' });
  req.end();
  const res = await answer;
  assert.equal(res.statusCode, 200);
  await new Promise<void>((resolve) => res.once('data', () => resolve()));
  req.destroy();
}

/** A tus upload that promises 8 MiB, sends 1 MiB of it and is cut off. */
async function abortedUpload(): Promise<void> {
  const auth = { authorization: `Bearer ${operatorToken}`, 'tus-resumable': '1.0.0' };
  const create = rawRequest('POST', '/masters/uploads', { ...auth, 'upload-length': 8 * 1024 * 1024, 'content-length': 0 });
  create.req.end();
  const created = await create.answer;
  created.resume();
  assert.equal(created.statusCode, 201);
  const location = String(created.headers.location);
  const patch = rawRequest('PATCH', location.replace(/^.*\/api\/v1/, ''), { ...auth, 'content-type': 'application/offset+octet-stream', 'upload-offset': 0, 'content-length': 8 * 1024 * 1024 });
  patch.answer.catch(() => undefined);
  await new Promise<void>((resolve) => patch.req.write(Buffer.alloc(1024 * 1024, 1), () => resolve()));
  await delay(50);
  patch.req.destroy();
}

/** A JSON body that sends a few bytes, stalls, and is cut off. */
async function slowBody(): Promise<void> {
  const { req, answer } = rawRequest('POST', '/channel-lists/check', { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json', 'content-length': 1000 });
  answer.catch(() => undefined);
  req.write('{"name":"sl');
  await delay(300);
  req.destroy();
}

async function settledFds(pid: number, atMost: number): Promise<number> {
  let count = await fdCount(pid);
  for (let i = 0; i < 50 && count > atMost; i++) {
    await delay(100);
    count = await fdCount(pid);
  }
  return count;
}

test('aborted SSE clients, aborted uploads and stalled bodies leave no descriptor or memory behind; a body over the limit is refused at once', { timeout: 90_000 }, async (t) => {
  const pid = apiProcess.pid!;
  // A task that stays pending (no packer), so its stream stays open.
  await packer.stop();
  const pending = await api.json<{ taskId: string }>(bearer(), 'POST', '/tasks', { master: masterId, channels: [{ id: 'p' }], destination: 'partners' }, 201);
  // Warm up every path once, so lazily made things do not count as leaks.
  await Promise.all([sseAndAbort(`/tasks/${pending.taskId}/events`), sseAndAbort('/events'), abortedUpload(), slowBody()]);
  await delay(500);
  const baseFds = await fdCount(pid);
  const baseRss = await rssKb(pid);

  await Promise.all(Array.from({ length: 50 }, (_, i) => sseAndAbort(i % 2 === 0 ? `/tasks/${pending.taskId}/events` : '/events')));
  for (let i = 0; i < 10; i++) await abortedUpload();
  await Promise.all(Array.from({ length: 10 }, () => slowBody()));

  const fds = await settledFds(pid, baseFds + 3);
  const rss = await rssKb(pid);
  t.diagnostic(`fds ${baseFds} -> ${fds}, RSS ${baseRss} -> ${rss} kB`);
  assert.ok(fds <= baseFds + 3, `open descriptors ${baseFds} -> ${fds}`);
  assert.ok(rss - baseRss < 30 * 1024, `RSS ${baseRss} -> ${rss} kB`);
  // Still answering.
  await api.json(bearer(), 'GET', `/tasks/${pending.taskId}`);

  // 100 MB announced, a few bytes sent: refused from the announcement, without waiting for the rest.
  const startedAt = Date.now();
  const big = rawRequest('POST', '/channel-lists/check', { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json', 'content-length': 100 * 1024 * 1024 });
  big.req.write('{"name":"');
  const res = await big.answer;
  const text = await readAll(res);
  big.req.destroy();
  assert.ok(Date.now() - startedAt < 2000, `answered after ${Date.now() - startedAt} ms`);
  assert.equal(res.statusCode, 413, text);
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
  assert.equal(asProblemDocument({ status: 413, headers, text }).code, 'PAYLOAD_TOO_LARGE');
});

/** Sends a raw request and returns its answer as the client reads it. */
async function rawAnswer(method: string, path: string, headers: Record<string, string | number>, body?: string | Buffer): Promise<ApiAnswer> {
  const { req, answer } = rawRequest(method, path, body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) });
  req.end(body);
  const res = await answer;
  const text = await readAll(res);
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
  return { status: res.statusCode ?? 0, headers: out, text };
}

/** A GET whose query string is `bytes` long, written as a raw socket would; the server may answer before it ends. */
function hugeQuery(bytes: number): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(apiProcess.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const raw = Buffer.concat(received).toString('utf8');
      const cut = raw.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      if (cut < 0) return reject(new Error(`no answer: ${JSON.stringify(raw.slice(0, 300))}`));
      const headers = new Headers();
      for (const line of raw.slice(0, cut).split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      resolve({ status, headers, text: raw.slice(cut + 4) });
    });
    socket.on('connect', () => {
      void (async () => {
        socket.write(`GET /api/v1/tasks?cursor=`);
        const chunk = 'a'.repeat(64 * 1024);
        for (let sent = 0; sent < bytes && socket.writable; sent += chunk.length) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
        }
        if (socket.writable) socket.end(` HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${operatorToken}\r\n\r\n`);
      })();
    });
  });
}

test('hostile requests are answered with problem documents naming the problem; accepted hostile strings come back verbatim', { timeout: 60_000 }, async () => {
  const auth = { authorization: `Bearer ${operatorToken}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const cases: { what: string; answer: ApiAnswer; status: number; code: string; detail?: RegExp }[] = [
    { what: 'bad percent-encoding', answer: await rawAnswer('GET', '/tasks/%E0%A4%A', auth), status: 400, code: 'MALFORMED_REQUEST', detail: /percent-encoding/ },
    { what: 'a lone %', answer: await rawAnswer('GET', '/channel-lists/%', auth), status: 400, code: 'MALFORMED_REQUEST', detail: /percent-encoding/ },
    { what: '.. and %2F in an id', answer: await rawAnswer('GET', '/tasks/..%2F..%2Fetc%2Fpasswd', auth), status: 422, code: 'INVALID_INPUT', detail: /invalid task id "\.\.\/\.\.\/etc\/passwd"/ },
    { what: '%2F in a list id', answer: await rawAnswer('GET', '/channel-lists/a%2Fb', auth), status: 404, code: 'NOT_FOUND', detail: /no channel list "a\/b"/ },
    { what: 'encoded dots in a master id', answer: await rawAnswer('GET', '/masters/%2E%2E%2Fsecret', auth), status: 404, code: 'NOT_FOUND' },
    { what: 'not JSON', answer: await rawAnswer('POST', '/channel-lists/check', json, '{"name": "x", channels: ['), status: 400, code: 'MALFORMED_REQUEST', detail: /not valid JSON/ },
    { what: 'an empty body', answer: await rawAnswer('POST', '/channel-lists/check', json, ''), status: 400, code: 'MALFORMED_REQUEST', detail: /not valid JSON/ },
    { what: 'text/plain', answer: await rawAnswer('POST', '/channel-lists/check', { ...auth, 'content-type': 'text/plain' }, '{"name":"x","text":"a"}'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /application\/json/ },
    { what: 'no content type', answer: await rawAnswer('POST', '/channel-lists/check', auth, '{"name":"x","text":"a"}'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'form data', answer: await rawAnswer('POST', '/tasks', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'master=x'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a top-level __proto__', answer: await rawAnswer('POST', '/channel-lists/check', json, '{"name":"x","text":"a","__proto__":{"role":"admin"}}'), status: 422, code: 'INVALID_INPUT', detail: /__proto__/ },
    { what: 'a __proto__ extra holding an object', answer: await rawAnswer('POST', '/channel-lists/check', json, '{"name":"x","channels":[{"id":"a","extras":{"__proto__":{"x":"y"}}}]}'), status: 422, code: 'INVALID_INPUT' },
    { what: 'a query parameter given twice', answer: await rawAnswer('GET', '/tasks?limit=1&limit=2', auth), status: 422, code: 'INVALID_INPUT', detail: /more than once/ },
    { what: 'a query value out of range', answer: await rawAnswer('GET', '/tasks?limit=-1', auth), status: 422, code: 'INVALID_INPUT', detail: /limit/ },
  ];
  // A 10 MB query string: far above what the server reads of a request head.
  cases.push({ what: 'a 10 MB query string', answer: await hugeQuery(10 * 1024 * 1024), status: 431, code: 'MALFORMED_REQUEST', detail: /too large/ });
  const wrong: string[] = [];
  for (const c of cases) {
    const { status, text } = c.answer;
    if (status !== c.status) {
      wrong.push(`${c.what}: ${status} ${text.slice(0, 300)}`);
      continue;
    }
    const p = asProblemDocument(c.answer);
    if (p.code !== c.code || (c.detail !== undefined && !c.detail.test(p.detail))) wrong.push(`${c.what}: ${text.slice(0, 300)}`);
  }
  assert.deepEqual(wrong, []);
  // Still answering.
  assert.equal((await api.json<{ count: number }>(bearer(), 'POST', '/channel-lists/check', { name: 'x', text: 'a' })).count, 1);

  // A channels file with bidi overrides, zero-width characters and markup: each bad line named, by line.
  const text = ['good', 'bad\u202Eid', 'zero\u200Bwidth', '<script>alert(1)</script>', 'img,html="><img src=x onerror=alert(1)>', '"><b onmouseover=alert(1)>x'].join('\n');
  const refused = await api.request(bearer(), 'POST', '/channel-lists', { name: 'hostile', text });
  assert.equal(refused.status, 422, refused.text);
  const problem = asProblemDocument(refused);
  const lines = (problem.errors as { line: number; message: string }[]).map((e) => `${e.line}: ${e.message}`);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /^2: .*U\+202E/);
  assert.match(lines[1]!, /^3: .*U\+200B/);
  assert.match(lines[2]!, /^4: .*path separator/);
  assert.ok(!/[\u202E\u200B]/.test(refused.text), 'invisible characters are escaped in the answer');

  // What the rules allow is kept and shown as it was sent, as JSON strings; nothing is rendered.
  const markup = '"><img src=x onerror=alert(1)>';
  const script = '<script>alert(document.cookie)</script>';
  const kept = { name: script, channels: [{ id: '"><b onmouseover=alert(1)>x', extras: { html: markup, script, '<k>': '&amp;', __proto__x: 'v' } }, { id: '应用宝' }] };
  const created = await api.request(bearer(), 'POST', '/channel-lists', kept);
  assert.equal(created.status, 201, created.text);
  const id = (JSON.parse(created.text) as { id: string }).id;
  const fetched = await api.request(bearer(), 'GET', `/channel-lists/${id}`);
  assert.equal(fetched.status, 200);
  assert.match(fetched.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(fetched.headers.get('x-content-type-options'), 'nosniff');
  const list = JSON.parse(fetched.text) as { name: string; channels: unknown[] };
  assert.equal(list.name, script);
  assert.deepEqual(list.channels, kept.channels);
  // A __proto__ key in extras is an ordinary key: kept as sent or refused, never merged into an object's prototype.
  const proto = await api.request(bearer(), 'POST', '/channel-lists', JSON.parse('{"name":"p","channels":[{"id":"a","extras":{"__proto__":"v","constructor":"w"}}]}') as unknown);
  if (proto.status === 201) {
    const back = await api.json<{ channels: { extras: Record<string, string> }[] }>(bearer(), 'GET', `/channel-lists/${(JSON.parse(proto.text) as { id: string }).id}`);
    assert.deepEqual(Object.entries(back.channels[0]!.extras).sort(), [['__proto__', 'v'], ['constructor', 'w']]);
  } else {
    assert.equal(proto.status, 422, proto.text);
    assert.equal(asProblemDocument(proto).code, 'INVALID_INPUT');
  }
  // No answer of this test was HTML.
  for (const c of cases) assert.doesNotMatch(c.answer.headers.get('content-type') ?? '', /html/);
});
