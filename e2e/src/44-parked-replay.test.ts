// `subpack parked replay` of a parked task.pack on the real stack: it runs the task again (as `subpack retry` would)
// only when the task failed before any channel was planned (its master was missing); for a task that ended partial
// after its channels were planned, or is done, it keeps the message parked, says why and what to run, and exits
// non-zero. An id that is not in the parking lot is an error.
import assert from 'node:assert/strict';
import { copyFile, mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, fileTargetUrl, fileUrl, packTask, peekQueue, type QueueSpy, stackPerFile, subpack, uniqueTaskId } from './harness';

let tap: QueueSpy;
let parked: QueueSpy;
const stack = stackPerFile('replay', { retryTiers: '1s', maxAttempts: 2 }, async (s) => {
  await s.startPipeline();
  tap = await s.eventTap();
  parked = await s.parkedSpy();
});

/** Sends a task whose master is not there yet, as `subpack submit` does; waits until it failed and its task.pack is parked. */
async function taskWithoutMaster(label: string, extra: Record<string, unknown> = {}): Promise<{ taskId: string; masterPath: string; target: string }> {
  const taskId = uniqueTaskId(label);
  const masterPath = join(stack.workDir, `${taskId}-master`, 'app.apk');
  const target = join(stack.workDir, `${taskId}-out`);
  await stack.publishTask(packTask({ taskId, master: fileUrl(masterPath), target: fileTargetUrl(target), channels: channelIds(3), ...extra }), { messageId: `task.pack:${taskId}` });
  await stack.waitForEvent(tap, taskId, 'task.failed', 60_000);
  await parked.waitFor(`the task.pack of ${taskId} parked`, (m) => m.some((p) => p.messageId === `task.pack:${taskId}`), 30_000, () => stack.describe(tap));
  return { taskId, masterPath, target };
}

async function putMaster(masterPath: string): Promise<void> {
  await mkdir(join(masterPath, '..'), { recursive: true });
  await copyFile(await standardApk('v2Only'), masterPath);
}

async function parkedIds(): Promise<string[]> {
  return (await peekQueue(stack.amqpUrl, 'subpack.parked')).map((m) => String(m.properties.messageId));
}

test('a parked task.pack of a task that failed before any channel was planned runs it again when replayed', { timeout: 150_000 }, async () => {
  const { taskId, masterPath } = await taskWithoutMaster('missing');
  await putMaster(masterPath);
  const r = await subpack(['parked', 'replay', '--id', `task.pack:${taskId}`], stack.env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'replayed 1, skipped 0\n');

  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 90_000);
  await delay(1500);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1);
  assert.deepEqual({ status: completed!.event.status, done: completed!.event.done, taskAttempt: completed!.event.taskAttempt }, { status: 'done', done: 3, taskAttempt: 2 });
  const files = new Map(
    eventsFor(tap.messages, taskId, 'channel.stored').map((e) => [fileURLToPath(String(e.event.url)), String(e.event.channel)]),
  );
  assert.equal(files.size, 3);
  assert.deepEqual(await checkChannelApks(files), []);
  assert.ok(!(await parkedIds()).includes(`task.pack:${taskId}`), 'the replayed message left the parking lot');
});

test('a replay that cannot start its task keeps the message parked, says why and what to run, and exits 1', { timeout: 180_000 }, async () => {
  // Partial after a retry: its channels were planned, so its parked task.pack would not run it again.
  const partial = await taskWithoutMaster('partial', { naming: '{channel}.apk' });
  await mkdir(join(partial.target, 'ch-2.apk'), { recursive: true });
  await putMaster(partial.masterPath);
  assert.equal((await subpack(['retry', partial.taskId], stack.env)).code, 0);
  const [completed] = await stack.waitForEvent(tap, partial.taskId, 'task.completed', 120_000);
  assert.equal(completed!.event.status, 'partial');

  const refused = await subpack(['parked', 'replay', '--id', `task.pack:${partial.taskId}`], stack.env);
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(refused.stdout, 'replayed 0, skipped 1\n');
  assert.equal(
    refused.stderr,
    `skipped task.pack:${partial.taskId}: task "${partial.taskId}" ended partial after its channels were planned (2 stored, 1 failed of 3): ` +
      `replaying its task.pack would not run it again; run \`subpack retry ${partial.taskId}\`\n`,
  );
  assert.ok((await parkedIds()).includes(`task.pack:${partial.taskId}`), 'the message stays parked');
  assert.equal((await stack.status(partial.taskId)).status, 'partial', 'and the task is left as it was');

  // What the refusal says to run does the job.
  await rmdir(join(partial.target, 'ch-2.apk'));
  assert.equal((await subpack(['retry', partial.taskId], stack.env)).code, 0);
  await stack.waitForEvent(tap, partial.taskId, 'task.completed', 90_000, 2);
  const last = eventsFor(tap.messages, partial.taskId, 'task.completed').at(-1)!.event;
  assert.deepEqual({ status: last.status, kept: last.kept, written: last.written, taskAttempt: last.taskAttempt }, { status: 'done', kept: 2, written: 1, taskAttempt: 3 });

  // Done: nothing to replay.
  const done = await subpack(['parked', 'replay', '--id', `task.pack:${partial.taskId}`], stack.env);
  assert.equal(done.code, 1, done.stderr);
  assert.match(done.stderr, new RegExp(`^skipped task\\.pack:${partial.taskId}: task "${partial.taskId}" is done`));

  const unknown = await subpack(['parked', 'replay', '--id', 'nope'], stack.env);
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.equal(unknown.stderr, 'subpack: no parked message with id "nope" (see subpack parked list)\n');
  assert.ok((await parkedIds()).includes(`task.pack:${partial.taskId}`), 'nothing else was taken from the parking lot');
});
