// Links inside the roots: a target directory or a master that is a link out of its root is refused with the one
// "outside the allowed roots" reason, whatever is (or is not) at the other end, and nothing is read or written there.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, fileTargetUrl, fileUrl, listTarget, packTask, type QueueSpy, stackPerFile, uniqueTaskId } from './harness';

const stack = stackPerFile('links', {}, (s) => s.startPipeline());

async function failureReason(taskId: string, tap: QueueSpy): Promise<string> {
  const [failed] = await stack.waitForEvent(tap, taskId, 'task.failed', 30_000);
  return String((failed!.event.error as { message?: unknown }).message);
}

test('a link in the target root out of it: refused at acceptance, no channel written there', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const tap = await stack.eventTap();
  const outsideDir = await stack.outsideRoots();
  const escape = join(outsideDir, 'escape');
  await mkdir(escape);
  await symlink(escape, join(stack.workDir, 'out-link'));
  await symlink(join(outsideDir, 'not-yet'), join(stack.workDir, 'out-dangling'));
  const cases = [fileTargetUrl(join(stack.workDir, 'out-link')), `${fileTargetUrl(join(stack.workDir, 'out-link'))}deeper/`, fileTargetUrl(join(stack.workDir, 'out-dangling'))];
  const taskIds = cases.map(() => uniqueTaskId('target-link'));
  for (const [i, target] of cases.entries()) await stack.publishTask(packTask({ taskId: taskIds[i]!, master: fileUrl(master), target, channels: channelIds(3) }));
  for (const [i, target] of cases.entries()) {
    assert.equal(await failureReason(taskIds[i]!, tap), `target ${target} is outside the allowed roots (SUBPACK_TARGET_ROOTS)`);
    assert.equal(eventsFor(tap.messages, taskIds[i]!, 'channel.stored').length, 0);
  }
  assert.deepEqual(await readdir(outsideDir, { recursive: true }), ['escape'], 'nothing was created outside the root');
});

test('a master that is a link out of the master root: one reason whether the far end is an APK, text, a directory or nothing', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const tap = await stack.eventTap();
  const outsideDir = await stack.outsideRoots();
  await copyFile(master, join(outsideDir, 'secret.apk'));
  await writeFile(join(outsideDir, 'notes.txt'), 'not an APK');
  await mkdir(join(outsideDir, 'dir'));
  const links = join(stack.workDir, 'masters');
  await mkdir(links);
  await symlink(outsideDir, join(links, 'dir-link'));
  const far = ['secret.apk', 'notes.txt', 'dir', 'missing.apk'];
  for (const name of far) await symlink(join(outsideDir, name), join(links, `to-${name}`));
  const masters = [...far.map((name) => join(links, `to-${name}`)), ...far.map((name) => join(links, 'dir-link', name))];
  const target = join(stack.workDir, 'out-masters');
  const taskIds = masters.map(() => uniqueTaskId('master-link'));
  for (const [i, path] of masters.entries()) {
    await stack.publishTask(packTask({ taskId: taskIds[i]!, master: fileUrl(path), target: fileTargetUrl(target), channels: channelIds(2) }));
  }
  const reasons = new Set<string>();
  for (const [i, path] of masters.entries()) reasons.add((await failureReason(taskIds[i]!, tap)).replace(fileUrl(path), '<master>'));
  assert.deepEqual([...reasons], ['master <master> is outside the allowed roots (SUBPACK_MASTER_ROOTS)'], 'the same reason for every far end');
  assert.deepEqual(await listTarget(target).catch(() => []), [], 'no channel was made from a master outside the root');
});
