// kill -9 of a packer and the uploader in the middle of a task: after a restart every channel exists exactly once.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { frameworkResApk } from '@subpack/testing';
import {
  channelIds,
  checkChannelApks,
  delay,
  E2eStack,
  eventsFor,
  fileTargetUrl,
  fileUrl,
  listTarget,
  packTask,
  storedBytes,
  storedChannels,
  storedFiles,
  uniqueTaskId,
} from './harness';

let stack: E2eStack;
before(async () => {
  stack = await E2eStack.create('kill9');
});
after(async () => {
  await stack.cleanup();
});

const CHANNELS = 50;
const KILL_AFTER_STORED = 10;

test('kill -9 of a packer and the uploader mid-task: 50 channels exactly once, all verify', { timeout: 240_000 }, async (t) => {
  // 45 MB master: each channel is a 45 MB write, so the task is still running when the processes die.
  const master = await frameworkResApk();
  const targetDir = join(stack.workDir, 'target');
  await mkdir(targetDir);
  const packerEnv = { SUBPACK_BATCH_SIZE: '10' };
  const [packerA] = await Promise.all([
    stack.start('packer', packerEnv),
    stack.start('packer', packerEnv),
    stack.start('uploader'),
    stack.start('retry-scheduler'),
  ]);
  const uploader = stack.services.find((s) => s.name === 'uploader')!;
  const tap = await stack.eventTap();

  const taskId = uniqueTaskId('kill9');
  const channels = channelIds(CHANNELS);
  await stack.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels }));

  await tap.waitFor(`${KILL_AFTER_STORED} channels stored`, (m) => storedChannels(m, taskId).size >= KILL_AFTER_STORED, 120_000, () =>
    stack.describe(tap),
  );
  await Promise.all([packerA.kill(), uploader.kill()]);
  const storedAtKill = storedChannels(tap.messages, taskId).size;
  assert.ok(storedAtKill < CHANNELS, `the kill must happen mid-task (${storedAtKill} of ${CHANNELS} were stored already)`);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 0, 'no completion before the kill');

  await Promise.all([stack.start('packer', packerEnv), stack.start('uploader')]);
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 180_000);
  await delay(2000); // redelivered work finishing late must not complete the task twice
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'exactly one task.completed event');
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.equal(completed!.event.done, CHANNELS);
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), channels, 'every channel stored');

  // Each channel's file exists once, complete, verifies and carries its channel.
  const files = storedFiles(tap.messages, taskId);
  assert.equal(files.size, CHANNELS, 'one file per channel');
  const listing = await listTarget(targetDir);
  const present = new Set(listing.map((f) => f.file));
  const missing = [...files.keys()].filter((f) => !present.has(f));
  assert.deepEqual(missing, [], 'every announced file exists');
  const sizes = storedBytes(tap.messages, taskId);
  for (const f of listing) if (files.has(f.file)) assert.equal(sizes.get(f.file), f.bytes, `${f.file} is complete`);
  assert.deepEqual(await checkChannelApks(files, 2), [], 'every APK verifies and carries its channel');

  t.diagnostic(`killed after ${storedAtKill} stored; ${eventsFor(tap.messages, taskId, 'channel.stored').length} channel.stored events in all`);
  const status = await stack.status(taskId);
  assert.equal(status.status, 'done', `status: ${JSON.stringify(status)}`);
  assert.equal(status.done, CHANNELS, `status: ${JSON.stringify(status)}`);

  // Exactly 50 .apk files and nothing else: no temp or partial file left behind by the killed uploader.
  const leftovers = listing.filter((f) => !files.has(f.file)).map((f) => `${f.file} (${f.bytes} bytes)`);
  assert.deepEqual(leftovers, [], `the target holds only the ${CHANNELS} channel APKs; left over: ${leftovers.join(', ')}`);
  assert.equal(listing.length, CHANNELS);
});
