import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HostAllowlist } from './address-policy';
import { sendRequest, type SendOptions } from './http-sender';

describe('sendRequest (real HTTP server on loopback)', () => {
  let server: Server;
  let base: string;
  const received: { path: string; body: string; headers: IncomingMessage['headers'] }[] = [];
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/ok': (res) => res.end('{"errcode":0}'),
    '/fail': (res) => res.writeHead(503).end(),
    '/throttled': (res) => res.writeHead(429).end(),
    '/gone': (res) => res.writeHead(404).end(),
    '/moved': (res) => res.writeHead(302, { location: '/ok' }).end(),
    '/slow': () => undefined,
    '/huge': (res) => res.end('x'.repeat(1_000_000)),
  };

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({ path, body, headers: req.headers });
        routes[path]?.(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const options: SendOptions = { allowlist: HostAllowlist.parse('127.0.0.1'), timeoutMs: 500, maxResponseBytes: 1024 };
  const send = (path: string, overrides: Partial<SendOptions> = {}) =>
    sendRequest({ url: `${base}${path}`, headers: { 'content-type': 'application/json', 'webhook-id': 'w1' }, body: '{"a":1}' }, { ...options, ...overrides });

  it('POSTs the body and headers and reads the reply', async () => {
    const outcome = await send('/ok');
    assert.deepEqual(outcome, { ok: true, status: 200, body: '{"errcode":0}' });
    const last = received[received.length - 1]!;
    assert.equal(last.body, '{"a":1}');
    assert.equal(last.headers['webhook-id'], 'w1');
  });

  it('5xx, 429 and timeouts are transient; other 4xx and redirects are permanent; redirects are not followed', async () => {
    assert.deepEqual(await send('/fail'), { ok: false, permanent: false, status: 503, reason: '127.0.0.1 answered 503' });
    assert.equal((await send('/throttled')).ok, false);
    assert.deepEqual(await send('/gone'), { ok: false, permanent: true, status: 404, reason: '127.0.0.1 answered 404' });
    const before = received.length;
    const moved = await send('/moved');
    assert.deepEqual(moved, { ok: false, permanent: true, status: 302, reason: '127.0.0.1 answered 302; redirects are not followed' });
    assert.equal(received.length, before + 1, 'the redirect target was not requested');
    const slow = await send('/slow');
    assert.ok(!slow.ok && !slow.permanent && /no answer within 500 ms/.test(slow.reason), JSON.stringify(slow));
  });

  it('cuts a large response at the cap', async () => {
    const outcome = await send('/huge');
    assert.ok(outcome.ok);
    assert.equal(outcome.body.length, 1024);
  });

  it('makes no request to a host off the allowlist or a loopback address it does not list', async () => {
    const before = received.length;
    const offList = await send('/ok', { allowlist: HostAllowlist.parse('hooks.example.com') });
    assert.deepEqual(offList, { ok: false, permanent: true, reason: 'host 127.0.0.1 is not on the notifier allowlist (SUBPACK_NOTIFY_ALLOWED_HOSTS)' });
    const viaName = await sendRequest(
      { url: `${base.replace('127.0.0.1', 'hooks.example.com')}/ok`, headers: {}, body: '' },
      { ...options, allowlist: HostAllowlist.parse('hooks.example.com'), lookup: async () => [{ address: '127.0.0.1', family: 4 }] },
    );
    assert.ok(!viaName.ok && viaName.permanent && /resolves to 127\.0\.0\.1, a loopback address/.test(viaName.reason));
    assert.equal(received.length, before);
  });

  it('connects to the checked address, not to a second DNS answer', async () => {
    let lookups = 0;
    const outcome = await sendRequest(
      { url: `${base.replace('127.0.0.1', 'hooks.example.com')}/ok`, headers: {}, body: '' },
      {
        ...options,
        allowlist: HostAllowlist.parse('hooks.example.com,127.0.0.1'),
        lookup: async () => {
          lookups++;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      },
    );
    assert.ok(outcome.ok);
    assert.equal(lookups, 1);
    assert.equal(received[received.length - 1]!.headers.host, `hooks.example.com:${new URL(base).port}`);
  });
});
