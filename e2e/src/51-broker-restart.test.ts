// RabbitMQ restarting in the middle of a task (rabbitmqctl stop_app / start_app): the services reconnect and the task
// completes. The broker is a node of this file's own (port 5631), so nothing else on the machine sees the outage.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
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
  storedChannels,
  storedFiles,
  uniqueTaskId,
  waitFor,
} from './harness';

// Enough that the broker stops mid-task: rabbitmqctl takes about a second to act, and channels are fast to write.
const CHANNELS = 200;
const OUTAGE_MS = 3000;

const engines = onOwnEngines('restart', { broker: { ports: [5631], distBase: 25631, prefix: 'subpack-e2e-restart-' } });

test('a broker restart mid-task: the services reconnect and the task completes once', { timeout: 300_000 }, async () => {
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
