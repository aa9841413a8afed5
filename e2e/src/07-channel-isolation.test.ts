// One channel that cannot be planned fails alone: the other 24 of its batch are stored and the task ends "partial".
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk, withZipComment } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, listTarget, stackPerFile, storedChannels, storedFiles } from './harness';

const stack = stackPerFile('isolation');

const BATCH_SIZE = 25;
/** Room left in the ZIP comment: channel ids up to this many bytes fit, longer ones cannot be written. */
const COMMENT_ROOM = 40;
const VASDOLLY_COMMENT_OVERHEAD = 2 + 8;

/**
 * The v1-only fixture with a ZIP comment so long that only short channel ids still fit after it (v1 signatures do
 * not cover the comment, so it still verifies).
 */
async function masterWithLongComment(): Promise<string> {
  const room = 0xffff - VASDOLLY_COMMENT_OVERHEAD - COMMENT_ROOM;
  return withZipComment(await standardApk('v1Only'), room, join(stack.workDir, 'long-comment.apk'));
}

test('a channel that cannot be planned fails alone; the other 24 of its batch of 25 are stored', { timeout: 180_000 }, async () => {
  const master = await masterWithLongComment();
  const targetDir = await stack.makeDir('target');
  await stack.startPipeline({ packer: { SUBPACK_BATCH_SIZE: String(BATCH_SIZE) } });
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const retried = await stack.retrySpy();

  const good = channelIds(BATCH_SIZE - 1);
  const tooLong = `long-${'x'.repeat(COMMENT_ROOM)}`; // 45 bytes: a valid id, but the comment cannot hold it
  const channels = [...good.slice(0, 12), tooLong, ...good.slice(12)];
  const { taskId, completed } = await stack.runTask(tap, { label: 'isolation', master, target: targetDir, channels }, 120_000);
  await delay(1000); // a duplicate completion or a late event would arrive now
  assert.equal(eventsFor(tap.messages, taskId, 'task.accepted')[0]?.event.batches, 1, 'all 25 channels are one batch');
  assert.deepEqual(
    { status: completed.event.status, total: completed.event.total, done: completed.event.done, failed: completed.event.failed },
    { status: 'partial', total: 25, done: 24, failed: 1 },
  );
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'one completion');

  const failed = eventsFor(tap.messages, taskId, 'channel.failed');
  assert.equal(failed.length, 1, JSON.stringify(failed.map((f) => f.event)));
  assert.equal(failed[0]!.event.channel, tooLong);
  const error = failed[0]!.event.error as { code: string; message: string };
  assert.equal(error.code, 'COMMENT_TOO_LONG');
  assert.match(error.message, new RegExp(`cannot be extended by channel "${tooLong}"`));

  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), good);
  const files = storedFiles(tap.messages, taskId);
  assert.equal((await listTarget(targetDir)).length, 24, 'exactly the 24 good channels are in the target');
  assert.deepEqual(await checkChannelApks(files), [], 'every stored APK verifies and carries its channel');
  assert.equal(parked.messages.length, 0, 'nothing was parked: the batch itself succeeded');
  assert.equal(retried.messages.length, 0, 'nothing was retried');

  const status = await stack.status(taskId);
  assert.equal(status.status, 'partial', JSON.stringify(status));
  assert.equal(status.failed, 1, JSON.stringify(status));
});
