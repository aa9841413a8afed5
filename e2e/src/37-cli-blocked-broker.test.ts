// `subpack submit` against a RabbitMQ node of this test's own whose memory watermark is below what it uses, so it
// raises a memory alarm at boot and blocks every publishing connection (connection.blocked). The shared broker is never
// touched. submit must say that the broker blocks publishers, and exit 1 at its --broker-timeout.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { makeTempDir, removeDir } from '@subpack/testing';
import { subpack, waitFor } from './harness';

let dir: string;
let node: ChildProcess | undefined;
let amqpPort: number;

/** A port the kernel just handed out, released for the node to take. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

before(async () => {
  dir = await makeTempDir('subpack-blocked-broker-');
  amqpPort = await freePort();
  const distPort = await freePort();
  const name = `subpack-blocked-${randomBytes(3).toString('hex')}@localhost`;
  await mkdir(join(dir, 'home'));
  await writeFile(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.1 = 127.0.0.1:${amqpPort}`, 'loopback_users = none', 'vm_memory_high_watermark.absolute = 1MB', 'disk_free_limit.absolute = 1', ''].join('\n'),
  );
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  node = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], {
    env: {
      ...process.env,
      // Its own cookie and files: no rabbitmqctl of this node can reach another one, and the reverse.
      HOME: join(dir, 'home'),
      // Makes the script exec the Erlang VM itself, so the child's PID is the node's and killing it stops the node.
      RUNNING_UNDER_SYSTEMD: '1',
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
    },
    stdio: 'ignore',
  });
  const started = node;
  await waitFor(`RabbitMQ node ${name} listening on ${amqpPort}`, async () => started.exitCode === null && (await accepts(amqpPort)), { timeoutMs: 180_000, intervalMs: 500 });
});

after(async () => {
  if (node && node.exitCode === null && node.signalCode === null) {
    const exited = once(node, 'exit');
    node.kill('SIGKILL');
    await exited;
  }
  if (dir) await removeDir(dir);
});

test('submit names the broker\'s memory alarm and exits 1 at --broker-timeout', { timeout: 120_000 }, async () => {
  const task = join(dir, 'task.json');
  await writeFile(task, JSON.stringify({ taskId: `blocked-${randomBytes(3).toString('hex')}`, master: 'file:///m.apk', target: 'file:///out/', channels: [{ id: 'a' }] }));
  const r = await subpack(['submit', task, '--broker-timeout', '4'], { AMQP_URL: `amqp://guest:guest@127.0.0.1:${amqpPort}` });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^subpack: RabbitMQ is blocking publishers \(low on memory\); waiting up to --broker-timeout for it to clear$/m);
  assert.match(r.stderr, new RegExp(`^subpack: RabbitMQ at amqp://127\\.0\\.0\\.1:${amqpPort} did not confirm the task within 4 s: the broker is blocking publishers \\(low on memory; a memory or disk alarm\\)$`, 'm'));
  assert.doesNotMatch(r.stderr, /guest|submitted/);
});
