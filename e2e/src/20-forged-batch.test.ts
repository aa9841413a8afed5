// pack.batch names channel ids only; the packer takes the recipe from the task as accepted (Redis). A forged or stale
// batch (a channel the task does not have, an old batch carrying its own master and target, a task that was never
// accepted, another split) is parked before anything is planned, so it writes nothing, and parking it fails none of
// the running task's channels: the task completes as if the batch had never been sent.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir, removeDir, standardApk } from '@subpack/testing';
import { channelIds, E2eStack, eventsFor, fileTargetUrl, fileUrl, headerText, internalSignature, listTarget, packTask, uniqueTaskId } from './harness';

let stack: E2eStack;
let outsideDir: string;
before(async () => {
  stack = await E2eStack.create('forged-batch');
  outsideDir = await makeTempDir('subpack-e2e-outside-');
  await Promise.all([stack.start('packer'), stack.start('retry-scheduler')]);
});
after(async () => {
  await removeDir(outsideDir);
  await stack.cleanup();
});

test('a forged pack.batch naming a channel the task does not have writes nothing', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = join(stack.workDir, 'target');
  await mkdir(targetDir);
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const taskId = uniqueTaskId('known');
  await stack.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(3) }));
  // No uploader yet: the task is running, its three channels wait in the store queue.
  await stack.waitForEvent(tap, taskId, 'task.accepted', 60_000);

  const outsideTarget = join(outsideDir, 'evil');
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
  for (const batch of batches) await stack.publishTask(batch.body, { routingKey: 'pack.batch', headers: internalSignature('pack.batch', batch.body) });
  await parked.waitFor(`${batches.length} parked batches`, (m) => m.length >= batches.length, 30_000, () => stack.describe(tap));
  for (const batch of batches) {
    const message = parked.messages.find((m) => m.body.equals(Buffer.from(JSON.stringify(batch.body))));
    assert.ok(message, `${batch.name}: parked`);
    assert.match(headerText(message, 'x-subpack-error'), batch.reason, batch.name);
    assert.equal(message.headers['x-subpack-error-class'], 'permanent', `${batch.name}: permanent`);
  }

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
