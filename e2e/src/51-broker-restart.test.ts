// RabbitMQ restarting in the middle of a task, and in the middle of a retried task (rabbitmqctl stop_app / start_app):
// the services reconnect and the task completes once. The broker is a node of this file's own (port 5631), so nothing
// else on the machine sees the outage.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { frameworkResApk } from '@subpack/testing';
import {
  channelIds,
  checkChannelApks,
  delay,
  onOwnEngines,
  eventsFor,
  fileTargetUrl,
  fileUrl,
  listTarget,
  packTask,
  type QueueSpy,
  storedChannels,
  storedFiles,
  subpack,
  uniqueTaskId,
  waitFor,
} from './harness';

// Enough that the broker stops mid-task: rabbitmqctl takes about a second to act, and channels are fast to write.
const CHANNELS = 200;
const OUTAGE_MS = 3000;

const engines = onOwnEngines('restart', { broker: { ports: [5631], distBase: 25631, prefix: 'subpack-e2e-restart-' } });

test('a broker restart mid-task: the services reconnect and the task completes once', { timeout: 600_000 }, async () => {
  const s = engines.stack;
  const broker = engines.broker;
  const node = broker.nodes[0]!;
  const master = await frameworkResApk();
  const targetDir = join(s.workDir, 'target');
  await mkdir(targetDir);
  await Promise.all([s.start('packer', { SUBPACK_BATCH_SIZE: '10' }), s.start('uploader'), s.start('retry-scheduler')]);
  const tap = await s.eventTap();

  const taskId = uniqueTaskId('restart');
  const channels = channelIds(CHANNELS);
  await s.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels }));
  await tap.waitFor('10 channels stored', (m) => storedChannels(m, taskId).size >= 10, 120_000, () => s.describe(tap));

  await broker.ctl(node, ['stop_app']);
  const storedAtStop = storedChannels(tap.messages, taskId).size;
  try {
    await delay(OUTAGE_MS);
  } finally {
    await broker.ctl(node, ['start_app']);
  }
  assert.ok(storedAtStop < CHANNELS, `the broker must stop mid-task (${storedAtStop} of ${CHANNELS} were stored already)`);
  assert.ok(storedAtStop > 0, 'the task had started');

  const [completed] = await s.waitForEvent(tap, taskId, 'task.completed', 180_000);
  await delay(2000); // redelivered work must not complete the task a second time
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'exactly one task.completed event');
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), channels);
  assert.ok(tap.reconnectCount >= 1, 'the outage was real: the event tap itself had to reconnect');

  for (const service of s.services) {
    assert.ok(service.running, `${service.label} survived the broker restart\n${service.outputTail()}`);
    await waitFor(`${service.label} ready again`, async () => (await service.get('/health/ready'))?.status === 200, {
      timeoutMs: 30_000,
      detail: () => service.outputTail(),
    });
  }

  const files = storedFiles(tap.messages, taskId);
  const listing = await listTarget(targetDir);
  assert.deepEqual(
    listing.filter((f) => !files.has(f.file)).map((f) => f.file),
    [],
    'nothing but the channel APKs in the target',
  );
  assert.equal(listing.length, CHANNELS);
  assert.deepEqual(await checkChannelApks(files, 2), []);
  const status = await s.status(taskId);
  assert.equal(status.status, 'done', `status: ${JSON.stringify(status)}`);
});

/** The run's stored channels (events of a retried run carry its attempt). */
function storedInRun(tap: QueueSpy, taskId: string, attempt: number): Set<string> {
  return new Set(eventsFor(tap.messages, taskId, 'channel.stored').filter((e) => e.event.taskAttempt === attempt).map((e) => String(e.event.channel)));
}

test('a broker restart in the middle of a retried task: the retry completes once, with its attempt', { timeout: 600_000 }, async () => {
  const s = engines.stack;
  const broker = engines.broker;
  const node = broker.nodes[0]!;
  for (const name of ['packer', 'uploader', 'retry-scheduler'] as const) {
    if (!s.services.some((service) => service.name === name && service.running)) await s.start(name, name === 'packer' ? { SUBPACK_BATCH_SIZE: '10' } : {});
  }
  const tap = await s.eventTap();
  const taskId = uniqueTaskId('retry-restart');
  const masterPath = join(s.workDir, 'later', 'master.apk');
  const targetDir = join(s.workDir, 'retry-target');
  const channels = channelIds(CHANNELS);
  // Its master is not there yet: the task fails at acceptance.
  await s.publishTask(packTask({ taskId, master: fileUrl(masterPath), target: fileTargetUrl(targetDir), channels }));
  await s.waitForEvent(tap, taskId, 'task.failed', 60_000);

  await mkdir(join(s.workDir, 'later'));
  await copyFile(await frameworkResApk(), masterPath);
  const retry = await subpack(['retry', taskId], s.env);
  assert.equal(retry.code, 0, retry.stderr);
  await tap.waitFor('10 channels of the retry stored', () => storedInRun(tap, taskId, 2).size >= 10, 120_000, () => s.describe(tap));

  await broker.ctl(node, ['stop_app']);
  const storedAtStop = storedInRun(tap, taskId, 2).size;
  try {
    await delay(OUTAGE_MS);
  } finally {
    await broker.ctl(node, ['start_app']);
  }
  assert.ok(storedAtStop < CHANNELS, `the broker must stop mid-retry (${storedAtStop} of ${CHANNELS} were stored already)`);

  const completed = (await s.waitForEvent(tap, taskId, 'task.completed', 180_000))[0]!;
  await delay(2000); // redelivered work must not complete the task a second time
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'exactly one task.completed');
  assert.deepEqual({ status: completed.event.status, taskAttempt: completed.event.taskAttempt }, { status: 'done', taskAttempt: 2 });
  assert.deepEqual([...storedInRun(tap, taskId, 2)].sort(), channels);
  const files = storedFiles(tap.messages, taskId);
  assert.equal((await listTarget(targetDir)).length, CHANNELS, 'one file per channel in the target');
  assert.deepEqual(await checkChannelApks(files, 2), []);
  const status = await s.status(taskId);
  assert.deepEqual({ status: status.status, attempt: status.attempt, done: status.done }, { status: 'done', attempt: 2, done: CHANNELS });
});
