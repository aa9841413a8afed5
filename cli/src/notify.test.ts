import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { ALLOWLIST_SETTING, HostAllowlist, sendRequest } from '@subpack/notify';

const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');

/** Runs the CLI with the notifier's allowlist set to `allowed` (127.0.0.1, the test receiver, unless told otherwise; null: unset). */
function subpack(args: string[], allowed: string | null = '127.0.0.1'): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[ALLOWLIST_SETTING];
  if (allowed !== null) env[ALLOWLIST_SETTING] = allowed;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env }, (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/** Why the notifier's sender refuses `url` under `allowed`, or undefined when it would send. */
async function notifierRefusal(url: string, allowed: string): Promise<string | undefined> {
  const outcome = await sendRequest({ url, headers: {}, body: '{}' }, { allowlist: HostAllowlist.parse(allowed), timeoutMs: 5000, maxResponseBytes: 1024 });
  return outcome.ok || outcome.status !== undefined ? undefined : outcome.reason;
}

describe('subpack notify test', () => {
  const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url?.startsWith('/robot')) res.end('{"errcode":310000,"errmsg":"keywords not in content"}');
        else res.writeHead(req.url === '/broken' ? 500 : 204).end();
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('sends a sample event signed as Standard Webhooks', async () => {
    const secret = `whsec_${Buffer.from('cli-test-key').toString('base64')}`;
    const run = await subpack(['notify', 'test', `${base}/hook`, '--secret', secret]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^delivered task\.completed \(json, signed\) with webhook-id \S+: HTTP 204\n$/);
    const request = received.find((r) => r.path === '/hook')!;
    const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = request.headers;
    const expected = createHmac('sha256', Buffer.from('cli-test-key')).update(`${String(id)}.${String(timestamp)}.${request.body}`).digest('base64');
    assert.equal(signature, `v1,${expected}`);
    assert.equal((JSON.parse(request.body) as { type: string }).type, 'task.completed');
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'the secret is not echoed');
  });

  it('says why a receiver did not take it', async () => {
    const failed = await subpack(['notify', 'test', `${base}/broken`]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, 'subpack: not delivered: 127.0.0.1 answered 500 (the notifier would retry this)\n');
    const robot = await subpack(['notify', 'test', `${base}/robot?access_token=x`, '--format', 'dingtalk']);
    assert.equal(robot.code, 1);
    assert.equal(robot.stderr, 'subpack: not delivered: dingtalk refused the message: code 310000 (keywords not in content)\n');
  });

  it('refuses what the notifier refuses under SUBPACK_NOTIFY_ALLOWED_HOSTS, with the same reason', async () => {
    const url = `${base}/allow`;
    const localhost = url.replace('127.0.0.1', 'localhost');
    for (const [target, allowed] of [[url, null], [url, ''], [url, 'hooks.example.com,*.example.com'], [localhost, 'localhost']] as const) {
      const reason = await notifierRefusal(target, allowed ?? '');
      assert.ok(reason !== undefined, `the notifier refuses ${target} under ${String(allowed)}`);
      const run = await subpack(['notify', 'test', target], allowed);
      assert.deepEqual([run.code, run.stderr], [1, `subpack: not delivered: ${reason}\n`]);
    }
    assert.equal(received.filter((r) => r.path === '/allow').length, 0, 'a refused delivery makes no request');
    const allowed = await subpack(['notify', 'test', url], 'hooks.example.com, 127.0.0.1');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(received.filter((r) => r.path === '/allow').length, 1);
    const bad = await subpack(['notify', 'test', url], 'http://hooks.example.com/');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^subpack: SUBPACK_NOTIFY_ALLOWED_HOSTS entry 1 \("http:\/\/hooks\.example\.com\/"\) must be a host name/);
  });

  it('says what came back from a receiver that is not the robot the format names', async () => {
    const run = await subpack(['notify', 'test', `${base}/not-a-robot`, '--format', 'dingtalk']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "subpack: not delivered: the receiver answered HTTP 204 with an empty body, not a dingtalk robot's reply (the notifier would retry this)\n");
  });

  it('names bad arguments', async () => {
    const format = await subpack(['notify', 'test', `${base}/hook`, '--format', 'slack']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /--format must be one of json, dingtalk, wecom, feishu/);
    const secret = await subpack(['notify', 'test', `${base}/hook`, '--secret', 'plain']);
    assert.equal(secret.code, 2);
    assert.equal(secret.stderr, 'subpack: --secret: must be a Standard Webhooks secret: whsec_ followed by base64\n');
    const control = await subpack(['notify', 'test', `${base}/hook`, '--format', 'dingtalk', '--secret', 'a\nb']);
    assert.deepEqual([control.code, control.stderr], [2, 'subpack: --secret: must not contain control or invisible characters\n']);
    const wecom = await subpack(['notify', 'test', `${base}/hook`, '--format', 'wecom', '--secret', 'x']);
    assert.deepEqual([wecom.code, wecom.stderr], [2, 'subpack: wecom robots take no secret (the key is in the URL)\n']);
    const url = await subpack(['notify', 'test', 'ftp://x.example/']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /^subpack: <url>: must be an http:\/\/ or https:\/\/ URL/);
    for (const run of [secret, control, wecom, url]) assert.doesNotMatch(run.stderr, /subscription/);
  });
});
