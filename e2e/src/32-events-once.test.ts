// One event per transition: a 300-channel task published 10 times at once is announced accepted once, each channel
// stored once and the task completed once, whatever the duplicate batches and channel jobs the copies cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryQueueName } from '@subpack/rules';
import { standardApk } from '@subpack/testing';
import { channelIds, delay, eventsFor, fileTargetUrl, fileUrl, listTarget, packTask, stackPerFile, uniqueTaskId, waitFor } from './harness';

const COPIES = 10;
const CHANNELS = 300;
const TIERS = ['1s', '2s'];
const QUIET_QUEUES = ['subpack.packer.tasks', 'subpack.packer.batches', 'subpack.uploader.store', ...TIERS.map((tier) => retryQueueName(tier))];

const stack = stackPerFile('eventsonce', { retryTiers: TIERS.join(',') });

test(`a ${CHANNELS}-channel task published ${COPIES} times at once: 1 accepted, ${CHANNELS} stored, 1 completed`, { timeout: 300_000 }, async (t) => {
  const master = await standardApk('v1v2v3');
  for (const [name, env] of [
    ['packer', { SUBPACK_BATCH_SIZE: '50', SUBPACK_PREFETCH: '4' }],
    ['packer', { SUBPACK_BATCH_SIZE: '50', SUBPACK_PREFETCH: '4' }],
    ['uploader', { SUBPACK_PREFETCH: '16' }],
    ['uploader', { SUBPACK_PREFETCH: '16' }],
    ['retry-scheduler', {}],
  ] as const) {
    await stack.start(name, env);
  }
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const taskId = uniqueTaskId('eventsonce');
  const targetDir = await stack.makeDir('target');
  const channels = channelIds(CHANNELS);
  const task = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels });
  await Promise.all(Array.from({ length: COPIES }, () => stack.publishTask(task)));

  await stack.waitForEvent(tap, taskId, 'task.completed', 180_000);
  // Every duplicate (and every delivery sent round a retry tier) is handled before the counts mean anything.
  await waitFor(
    'the work and retry queues to drain',
    async () => (await Promise.all(QUIET_QUEUES.map((q) => stack.queueMessageCount(q)))).every((n) => n === 0),
    { timeoutMs: 120_000 },
  );
  await delay(1500);

  const accepted = eventsFor(tap.messages, taskId, 'task.accepted');
  const stored = eventsFor(tap.messages, taskId, 'channel.stored');
  const completed = eventsFor(tap.messages, taskId, 'task.completed');
  t.diagnostic(`events: ${accepted.length} accepted, ${stored.length} stored, ${completed.length} completed`);
  assert.equal(accepted.length, 1, 'one task.accepted');
  assert.equal(stored.length, CHANNELS, 'one channel.stored per channel');
  assert.deepEqual([...new Set(stored.map((s) => s.event.channel as string))].sort(), [...channels].sort());
  assert.equal(completed.length, 1, 'one task.completed');
  assert.deepEqual({ status: completed[0]!.event.status, done: completed[0]!.event.done }, { status: 'done', done: CHANNELS });
  assert.equal(eventsFor(tap.messages, taskId, 'channel.failed').length, 0);
  assert.equal(parked.messages.length, 0, 'no duplicate was parked');
  assert.equal((await listTarget(targetDir)).length, CHANNELS);
});
