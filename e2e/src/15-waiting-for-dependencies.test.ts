// Services started before their broker or Redis: alive at once, ready once connected, retrying meanwhile with one
// plain log line per attempt. The outage is a closed port (a proxy opened later), never the shared broker stopped.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { E2eStack, freePort, REDIS_URL, ServiceProcess, subpack, waitFor } from './harness';

let stack: E2eStack;
const proxies: Server[] = [];
const sockets = new Set<Socket>();
before(async () => {
  stack = await E2eStack.create('deps');
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(proxies.map((p) => new Promise((resolve) => p.close(resolve))));
  await stack.cleanup();
});

/** Opens `port` late: from now on it forwards to the real service at `to`. */
function openProxy(port: number, to: URL): Promise<void> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: to.hostname, port: Number(to.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  proxies.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

async function expectWaiting(service: ServiceProcess, logLine: RegExp, attempts: number): Promise<void> {
  await waitFor(`${attempts} retry log lines`, () => service.logRecords().filter((r) => logLine.test(String(r.message))).length >= attempts, {
    timeoutMs: 30_000,
    detail: () => service.outputTail(),
  });
  assert.ok(service.running, 'still running');
  assert.equal((await service.get('/health/live'))?.status, 200, 'alive while waiting');
  const ready = await service.get('/health/ready');
  assert.equal(ready?.status, 503, `not ready while waiting: ${ready?.body}`);
  assert.doesNotMatch(service.outputTail(1_000_000), /\n\s+at \S/, 'no stack trace');
}

test('a service started while RabbitMQ is unreachable keeps retrying, is alive, and becomes ready once it is there', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const service = await ServiceProcess.spawn('retry-scheduler', {
    label: 'scheduler-no-broker',
    env: { ...stack.env, AMQP_URL: withPort(stack.amqpUrl, port), LOG_LEVEL: 'info' },
  });
  stack.services.push(service);
  await expectWaiting(service, /cannot connect to RabbitMQ; retrying/, 4);
  await openProxy(port, new URL(stack.amqpUrl));
  await service.waitReady(60_000);
});

test('a service started while Redis is unreachable keeps retrying, is alive, and becomes ready once it is there', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const service = await ServiceProcess.spawn('retry-scheduler', {
    label: 'scheduler-no-redis',
    env: { ...stack.env, REDIS_URL: withPort(REDIS_URL, port), LOG_LEVEL: 'info' },
  });
  stack.services.push(service);
  await expectWaiting(service, /cannot reach Redis; retrying/, 4);
  await openProxy(port, new URL(REDIS_URL));
  await service.waitReady(60_000);
});

test('a read-only command (subpack parked list) declares nothing on the broker', { timeout: 60_000 }, async () => {
  const bare = await E2eStack.create('readonly');
  try {
    const result = await subpack(['parked', 'list'], bare.env);
    assert.notEqual(result.code, 0, 'there is no parking lot to list on a broker the services never set up');
    assert.match(result.stderr, /subpack\.parked/);
    assert.doesNotMatch(result.stderr, /\n\s+at \S/, 'no stack trace');
    for (const queue of ['subpack.parked', 'subpack.retry.5s', 'subpack.dead']) {
      await assert.rejects(bare.queueMessageCount(queue), /NOT_FOUND|404/, `${queue} was not declared`);
    }
  } finally {
    await bare.cleanup();
  }
});
