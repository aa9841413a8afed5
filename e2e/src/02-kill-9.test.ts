// kill -9 of a packer and the uploader in the middle of a task: after a restart every channel exists exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameworkResApk } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, listTarget, stackPerFile, storedBytes, storedChannels, storedFiles } from './harness';

const stack = stackPerFile('kill9');

const CHANNELS = 50;
const KILL_AFTER_STORED = 10;

test('kill -9 of a packer and the uploader mid-task: 50 channels exactly once, all verify', { timeout: 240_000 }, async (t) => {
  // 45 MB master: each channel is a 45 MB write, so the task is still running when the processes die.
  const master = await frameworkResApk();
  const targetDir = await stack.makeDir('target');
  const packerEnv = { SUBPACK_BATCH_SIZE: '10' };
  const { packers, uploaders } = await stack.startPipeline({ packers: 2, packer: packerEnv });
  const tap = await stack.eventTap();

  const channels = channelIds(CHANNELS);
  const taskId = await stack.sendTask({ label: 'kill9', master, target: targetDir, channels });

  await tap.waitFor(`${KILL_AFTER_STORED} channels stored`, (m) => storedChannels(m, taskId).size >= KILL_AFTER_STORED, 120_000, () =>
    stack.describe(tap),
  );
  await Promise.all([packers[0]!.kill(), uploaders[0]!.kill()]);
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
