import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

const BIN = resolve(__dirname, '..', 'bin', 'subpack.js');

function subpack(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
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

  it('names bad arguments', async () => {
    const format = await subpack(['notify', 'test', `${base}/hook`, '--format', 'slack']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /--format must be one of json, dingtalk, wecom, feishu/);
    const secret = await subpack(['notify', 'test', `${base}/hook`, '--secret', 'plain']);
    assert.equal(secret.code, 2);
    assert.equal(secret.stderr, 'subpack: subscription[0].secret: must be a Standard Webhooks secret: whsec_ followed by base64\n');
    const url = await subpack(['notify', 'test', 'ftp://x.example/']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /subscription\[0\]\.url: must be an http:\/\/ or https:\/\/ URL/);
  });
});
