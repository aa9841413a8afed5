// A task nobody works on is reported stalled (event, metric, subpack status) instead of hanging silently.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, stackPerFile, subpack } from './harness';

const stack = stackPerFile('stall');

test('a task without progress is reported stalled once, shown by subpack status, and completes when work resumes', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('out');
  // No uploader: the jobs wait in their queue and nothing moves.
  const { scheduler } = await stack.startPipeline({ uploaders: 0, scheduler: { SUBPACK_STALL_AFTER_MS: '2000' } });
  const tap = await stack.eventTap();
  const taskId = await stack.sendTask({ label: 'stall', master, target: targetDir, channels: channelIds(3) });
  const [stalled] = await stack.waitForEvent(tap, taskId, 'task.stalled', 30_000);
  assert.deepEqual([stalled!.event.total, stalled!.event.done, stalled!.event.failed], [3, 0, 0]);
  assert.ok(Date.parse(String(stalled!.event.at)) - Date.parse(String(stalled!.event.lastProgressAt)) >= 2000, JSON.stringify(stalled!.event));
  assert.equal(stalled!.messageId, `task.stalled:${taskId}:${String(stalled!.event.lastProgressAt)}`);
  const status = await stack.status(taskId);
  assert.equal(typeof status.stalledAt, 'string', JSON.stringify(status));
  const human = await subpack(['status', taskId], stack.env);
  assert.match(human.stdout, /stalled: +no progress since /);
  assert.ok(((await scheduler.metricTotal('subpack_tasks_stalled_total')) ?? 0) >= 1, 'the stall is counted');

  await stack.start('uploader');
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
  assert.equal(completed!.event.status, 'done');
  assert.equal(eventsFor(tap.messages, taskId, 'task.stalled').length, 1, 'one report per stall');
  assert.equal((await stack.status(taskId)).stalledAt, undefined, 'progress ended the stall');
});
