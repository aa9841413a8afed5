// The same task published many times at once still ends in exactly one task.completed: the completion claim is one
// atomic Redis transition per task, whichever handler (in whichever process) gets there.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, delay, eventsFor, fileTargetUrl, fileUrl, listTarget, packTask, stackPerFile, uniqueTaskId, waitFor } from './harness';

const TRIALS = 20;
const COPIES = 10;
const CHANNELS = 4;
const WORK_QUEUES = ['subpack.packer.tasks', 'subpack.packer.batches', 'subpack.uploader.store'];

const stack = stackPerFile('once');

test(`a task published ${COPIES} times at once completes exactly once, ${TRIALS} trials`, { timeout: 600_000 }, async (t) => {
  const master = await standardApk('v1v2v3');
  await stack.startPipeline({ packers: 2, packer: { SUBPACK_BATCH_SIZE: '2', SUBPACK_PREFETCH: '4' }, uploaders: 2, uploader: { SUBPACK_PREFETCH: '16' } });
  const tap = await stack.eventTap();
  const completions: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const taskId = uniqueTaskId(`once${trial}`);
    const targetDir = join(stack.workDir, `t${trial}`);
    await mkdir(targetDir);
    const task = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(CHANNELS) });
    await Promise.all(Array.from({ length: COPIES }, () => stack.publishTask(task)));
    await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
    // Every duplicate job has to be handled before the count means anything: the queues drain, then the handlers
    // still running on their last deliveries get a moment to finish.
    await waitFor(
      'the work queues to drain',
      async () => {
        const counts = await Promise.all(WORK_QUEUES.map((q) => stack.queueMessageCount(q)));
        return counts.every((n) => n === 0);
      },
      { timeoutMs: 60_000 },
    );
    await delay(1000);
    const completed = eventsFor(tap.messages, taskId, 'task.completed');
    completions.push(completed.length);
    assert.equal(completed.length, 1, `trial ${trial}: ${completed.length} task.completed events`);
    assert.equal(completed[0]!.event.done, CHANNELS);
    assert.equal((await listTarget(targetDir)).length, CHANNELS, `trial ${trial}: one file per channel`);
  }
  t.diagnostic(`task.completed per trial: ${completions.join(' ')}`);
});
