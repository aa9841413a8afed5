// pack.batch names channel ids only; the packer takes the recipe from the task as accepted (Redis). A forged or stale
// batch (a channel the task does not have, an old batch carrying its own master and target, a task that was never
// accepted, another split) is parked before anything is planned, so it writes nothing, and parking it fails none of
// the running task's channels: the task completes as if the batch had never been sent.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, expectSignedForgeriesParked, fileTargetUrl, fileUrl, listTarget, stackPerFile, uniqueTaskId } from './harness';

const stack = stackPerFile('forged-batch', {}, (s) => s.startPipeline({ uploaders: 0 }));

test('a forged pack.batch naming a channel the task does not have writes nothing', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('target');
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const taskId = await stack.sendTask({ label: 'known', master, target: targetDir, channels: channelIds(3) });
  // No uploader yet: the task is running, its three channels wait in the store queue.
  await stack.waitForEvent(tap, taskId, 'task.accepted', 60_000);

  const outsideTarget = join(await stack.outsideRoots(), 'evil');
  const batches = [
    { name: 'a channel the task does not have, next to one it has', body: { taskId, batch: { index: 0, count: 1 }, channels: ['ch-1', 'evil'] }, reason: /"evil" is not part of task/ },
    {
      name: 'an old batch carrying its own recipe',
      body: { taskId, master: fileUrl(master), format: 'walle', naming: '{channel}.apk', target: fileTargetUrl(outsideTarget), channels: [{ id: 'evil' }], batch: { index: 0, count: 1 }, totalChannels: 1 },
      reason: /invalid pack batch: .*unknown field "master"/,
    },
    { name: 'a task that was never accepted', body: { taskId: uniqueTaskId('ghost'), batch: { index: 0, count: 1 }, channels: ['evil'] }, reason: /task "[^"]+" not found/ },
    { name: 'a batch of another split', body: { taskId, batch: { index: 1, count: 2 }, channels: ['ch-2'] }, reason: /does not match task .*split into 1/ },
  ];
  // Signed with the services' key: even a holder of the key cannot make the packer plan what the task does not have.
  await expectSignedForgeriesParked(stack, { tap, parked }, 'pack.batch', batches, 'batches');

  assert.equal(existsSync(outsideTarget), false, 'nothing was written where the old batch said');
  assert.deepEqual(await listTarget(targetDir), [], 'nothing was written into the target either');
  const running = await stack.status(taskId);
  assert.deepEqual([running.status, running.done, running.failed], ['pending', 0, 0], 'parking the forged batches failed none of the task\'s channels');

  await stack.start('uploader');
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
  assert.deepEqual([completed!.event.status, completed!.event.done, completed!.event.failed], ['done', 3, 0]);
  const files = (await listTarget(targetDir)).map((f) => f.file);
  assert.equal(files.length, 3, files.join(', '));
  assert.ok(files.every((f) => !f.includes('evil')), files.join(', '));
  assert.equal(eventsFor(tap.messages, taskId, 'channel.failed').length, 0, 'no channel of the task was failed by a forged batch');
});
