// The shipped RabbitMQ users (deploy/rabbitmq/definitions.json), loaded into a throwaway vhost under unique names:
// every service does its job with its own user, and a publisher's credentials can publish task.pack and nothing else.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type ConfirmChannel } from 'amqplib';
import { standardApk } from '@subpack/testing';
import {
  channelIds,
  CONNECT_OPTIONS,
  delay,
  E2eStack,
  fileTargetUrl,
  fileUrl,
  listTarget,
  packTask,
  publishJson,
  rabbitmqctl,
  REPO_ROOT,
  uniqueTaskId,
  waitFor,
  WebhookReceiver,
} from './harness';

interface Definitions {
  users: { name: string }[];
  vhosts: { name: string }[];
  permissions: { user: string; vhost: string }[];
  topic_permissions: { user: string; vhost: string }[];
}

const DEFINITIONS = join(REPO_ROOT, 'deploy', 'rabbitmq', 'definitions.json');
// The shipped development passwords are the user names; change them in production (README).
const suffix = randomBytes(3).toString('hex');
const userOf = (name: string): string => `${name}-${suffix}`;

let stack: E2eStack;
let receiver: WebhookReceiver;
let users: string[] = [];
before(async () => {
  stack = await E2eStack.create('perms');
  receiver = await WebhookReceiver.start();
  // Users are broker-wide: this test's copies get a unique suffix and live only in this test's vhost.
  const defs = JSON.parse(await readFile(DEFINITIONS, 'utf8')) as Definitions;
  const vhost = stack.vhost.name;
  const local: Definitions = {
    ...defs,
    users: defs.users.map((u) => ({ ...u, name: userOf(u.name) })),
    vhosts: [{ name: vhost }],
    permissions: defs.permissions.map((p) => ({ ...p, user: userOf(p.user), vhost })),
    topic_permissions: defs.topic_permissions.map((p) => ({ ...p, user: userOf(p.user), vhost })),
  };
  users = local.users.map((u) => u.name);
  // From standard input: rabbitmqctl may not see this process's files. The import completes asynchronously.
  await rabbitmqctl(['import_definitions'], 90_000, JSON.stringify(local));
  const publisher = userOf('subpack-publisher');
  await waitFor('the imported topic permissions', async () => (await rabbitmqctl(['list_topic_permissions', '-p', vhost])).includes(publisher), {
    timeoutMs: 60_000,
    intervalMs: 1000,
  });
});
after(async () => {
  for (const user of users) await rabbitmqctl(['delete_user', user]).catch(() => undefined);
  await stack.cleanup();
  await receiver.close();
});

function urlFor(name: string): string {
  const url = new URL(stack.amqpUrl);
  url.username = userOf(name);
  url.password = name;
  return url.href;
}

/** Resolves with the broker's refusal (the channel error), or rejects when the action was allowed. */
async function refusal(name: string, action: (channel: ConfirmChannel) => Promise<unknown>): Promise<string> {
  const connection = await connect(urlFor(name), CONNECT_OPTIONS);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) => channel.on('error', (err: Error) => resolve(err.message)));
    const failure = await action(channel).then(
      () => undefined,
      (err: Error) => err,
    );
    // The broker's reason arrives as the channel error, sometimes just after the call it refused has failed.
    const reason = await Promise.race([closed, delay(failure ? 2000 : 500).then(() => failure?.message)]);
    if (reason === undefined) throw new Error(`${name} was allowed to do it`);
    return reason;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Resolves when the broker let the user do it (no channel error follows), rejects with its refusal otherwise. */
async function allowed(name: string, action: (channel: ConfirmChannel) => Promise<unknown>): Promise<void> {
  const connection = await connect(urlFor(name), CONNECT_OPTIONS);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) => channel.on('error', (err: Error) => resolve(err.message)));
    await action(channel);
    const reason = await Promise.race([closed, delay(500).then(() => undefined)]);
    if (reason !== undefined) throw new Error(`${name} was refused: ${reason}`);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

test('each service (the notifier too) runs with its own user, and a publisher user gets a task done', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = join(stack.workDir, 'out');
  await mkdir(targetDir);
  await Promise.all([
    stack.start('packer', { AMQP_URL: urlFor('subpack-packer') }),
    stack.start('uploader', { AMQP_URL: urlFor('subpack-uploader') }),
    stack.start('retry-scheduler', { AMQP_URL: urlFor('subpack-retry-scheduler') }),
    stack.start('list-bridge', { AMQP_URL: urlFor('subpack-list-bridge') }),
    stack.start('notifier', {
      AMQP_URL: urlFor('subpack-notifier'),
      SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
      SUBPACK_NOTIFY_BATCH_WINDOW_MS: '200',
      SUBPACK_NOTIFY_SUBSCRIPTIONS: JSON.stringify([{ url: receiver.url('/hook'), level: 'info', secret: 'whsec_' + Buffer.from('perms-notifier-key-0123456789').toString('base64') }]),
    }),
  ]);
  const tap = await stack.eventTap();
  const taskId = uniqueTaskId('perms');
  await publishJson(urlFor('subpack-publisher'), packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(3) }));
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
  assert.equal(completed!.event.status, 'done');
  assert.equal((await listTarget(targetDir)).length, 3);
  // The notifier consumed the events and sent its own deliveries through the exchange with its user.
  await receiver.waitFor('task.completed at the webhook', (requests) => requests.some((r) => r.body.includes(taskId) && r.body.includes('task.completed')), 60_000, () => stack.outputs());
});

test('a publisher user cannot publish internal messages, reach other exchanges, or declare anything', { timeout: 60_000 }, async () => {
  const job = Buffer.from(JSON.stringify({ taskId: 'forged', channel: 'x', batchIndex: 0 }));
  const publish = (exchange: string, routingKey: string) => (channel: ConfirmChannel) => {
    channel.publish(exchange, routingKey, job, { persistent: true });
    return channel.waitForConfirms();
  };
  for (const routingKey of ['channel.store', 'pack.batch', 'event.task.completed', 'queue.subpack.uploader.store']) {
    assert.match(await refusal('subpack-publisher', publish('subpack', routingKey)), /ACCESS_REFUSED - access to topic/, routingKey);
  }
  assert.match(await refusal('subpack-publisher', publish('subpack.dead', 'channel.store')), /ACCESS_REFUSED/);
  assert.match(await refusal('subpack-publisher', publish('subpack.parked', 'channel.store')), /ACCESS_REFUSED/);
  assert.match(await refusal('subpack-publisher', (c) => c.assertQueue('subpack.sneaky', { durable: true })), /ACCESS_REFUSED/);
  assert.match(await refusal('subpack-publisher', (c) => c.checkQueue('subpack.uploader.store').then(() => c.get('subpack.uploader.store'))), /ACCESS_REFUSED/);
  // And a service cannot stand in for the publisher: the uploader may send events, not tasks.
  assert.match(await refusal('subpack-uploader', publish('subpack', 'task.pack')), /ACCESS_REFUSED/);
  // The notifier sends deliveries and events only: no tasks, no packer work.
  for (const routingKey of ['task.pack', 'channel.store', 'pack.batch']) {
    assert.match(await refusal('subpack-notifier', publish('subpack', routingKey)), /ACCESS_REFUSED - access to topic/, routingKey);
  }
  // The API sends its audit records (audit.recorded, not an event) besides tasks, cancellations and replays; no
  // packer or notifier work.
  await allowed('subpack-api', publish('subpack', 'audit.recorded'));
  for (const routingKey of ['channel.store', 'pack.batch', 'notify.delivery', 'audit.other']) {
    assert.match(await refusal('subpack-api', publish('subpack', routingKey)), /ACCESS_REFUSED - access to topic/, routingKey);
  }
});
