// `subpack retry` on the real stack: a task that failed (its master was missing) or ended partial (its target refused
// one channel) runs again from the content it was sent with; channels already stored are kept, the rest are written,
// and the new run ends with exactly one task.completed carrying its attempt. A task still running, done or unknown is
// refused with the reason and a non-zero exit, and a resend of a failed task says to run `subpack retry`.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, fileTargetUrl, fileUrl, packTask, type QueueSpy, type ReceivedEvent, stackPerFile, subpack, uniqueTaskId, waitFor } from './harness';

// Two attempts, one short tier: a channel the target refuses is parked (and counted failed) within seconds.
const stack = stackPerFile('retry', { retryTiers: '1s', maxAttempts: 2 });
let tap: QueueSpy;

/** The events of one run of the task: the first run's carry no attempt. */
function ofRun(taskId: string, type: string, attempt: number | undefined): ReceivedEvent[] {
  return eventsFor(tap.messages, taskId, type).filter((e) => e.event.taskAttempt === attempt);
}

/** Local path -> channel for the channel.stored events of one run. */
function filesOfRun(taskId: string, attempt: number | undefined): Map<string, string> {
  return new Map(ofRun(taskId, 'channel.stored', attempt).map((e) => [fileURLToPath(String(e.event.url)), String(e.event.channel)]));
}

function assertRefused(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `a refused retry exits non-zero: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

test('a task still running, done, or unknown is refused with the reason and exit 1', { timeout: 150_000 }, async () => {
  const master = await standardApk('v2Only');
  // No uploader yet: the task is accepted and stays running.
  await stack.start('packer');
  tap = await stack.eventTap();
  const taskId = await stack.sendTask({ label: 'running', master, target: join(stack.workDir, 'running'), channels: channelIds(2) });
  await stack.waitForEvent(tap, taskId, 'task.accepted', 60_000);
  assertRefused(await subpack(['retry', taskId], stack.env), new RegExp(`^subpack: task "${taskId}" is still running .*subpack status ${taskId}`));

  await Promise.all([stack.start('uploader'), stack.start('retry-scheduler')]);
  await stack.waitForEvent(tap, taskId, 'task.completed', 90_000);
  assertRefused(await subpack(['retry', taskId], stack.env), new RegExp(`^subpack: task "${taskId}" is done`));
  assertRefused(await subpack(['retry', 'e2e-never-sent'], stack.env), /^subpack: no task "e2e-never-sent"/);
  assert.equal((await stack.status(taskId)).status, 'done', 'a refused retry changes nothing');
  await delay(1000);
  assert.equal(eventsFor(tap.messages, taskId, 'task.accepted').length, 1, 'nothing was started again');
});

test('a task whose master was missing completes after subpack retry once the master is in place; a resend says to retry', { timeout: 150_000 }, async () => {
  const taskId = uniqueTaskId('nomaster');
  const masterPath = join(stack.workDir, 'masters', 'later.apk');
  const target = join(stack.workDir, 'nomaster-out');
  const channels = channelIds(4);
  const task = packTask({ taskId, master: fileUrl(masterPath), target: fileTargetUrl(target), channels });
  await stack.publishTask(task);
  await stack.waitForEvent(tap, taskId, 'task.failed', 60_000);
  assert.equal((await stack.status(taskId)).status, 'failed');

  // A resend with the same content is not started again, and both the CLI and the packer say what to run.
  const file = join(stack.workDir, `${taskId}.json`);
  await writeFile(file, JSON.stringify(task));
  const resent = await subpack(['submit', file], stack.env);
  assert.equal(resent.code, 1, resent.stderr);
  assert.equal(resent.stderr, `subpack: task "${taskId}" already failed: run \`subpack retry ${taskId}\`\n`);
  await stack.publishTask(task);
  const packer = stack.services.find((s) => s.name === 'packer')!;
  await waitFor('the packer to log the resend', () => packer.stdout.includes(`already failed: run \`subpack retry ${taskId}\``), {
    timeoutMs: 30_000,
    detail: () => stack.outputs(),
  });

  await mkdir(join(stack.workDir, 'masters'));
  await copyFile(await standardApk('v1v2v3'), masterPath);
  const r = await subpack(['retry', taskId], stack.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^retrying ${taskId} \\(attempt 2; it ended failed\\); follow it with: subpack status ${taskId}\\n$`));

  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 90_000);
  await delay(1500); // a second task.completed would arrive now
  const all = eventsFor(tap.messages, taskId, 'task.completed');
  assert.equal(all.length, 1, `exactly one task.completed: ${JSON.stringify(all.map((e) => e.event))}`);
  assert.deepEqual(
    { status: completed!.event.status, done: completed!.event.done, written: completed!.event.written, taskAttempt: completed!.event.taskAttempt },
    { status: 'done', done: channels.length, written: channels.length, taskAttempt: 2 },
  );
  assert.equal(completed!.messageId, `task.completed:${taskId}#2`);
  assert.equal(ofRun(taskId, 'task.accepted', 2).length, 1, 'the new run is accepted once');
  const files = filesOfRun(taskId, 2);
  assert.deepEqual([...files.values()].sort(), channels);
  assert.deepEqual(await checkChannelApks(files), []);
  const status = await stack.status(taskId);
  assert.deepEqual({ status: status.status, attempt: status.attempt, done: status.done }, { status: 'done', attempt: 2, done: channels.length });
});

test('a partial task retried keeps its stored channels (same bytes, counted kept) and stores the rest', { timeout: 180_000 }, async () => {
  const master = await standardApk('v2Only');
  const target = join(stack.workDir, 'partial-out');
  const channels = channelIds(3);
  // A directory where ch-2's APK goes: the target refuses that one channel until it is removed.
  const blocked = join(target, 'ch-2.apk');
  await mkdir(blocked, { recursive: true });
  const taskId = await stack.sendTask({ label: 'partial', master, target, channels, naming: '{channel}.apk' });
  const [first] = await stack.waitForEvent(tap, taskId, 'task.completed', 120_000);
  assert.deepEqual({ status: first!.event.status, done: first!.event.done, failed: first!.event.failed }, { status: 'partial', done: 2, failed: 1 });
  const storedBefore = new Map(ofRun(taskId, 'channel.stored', undefined).map((e) => [String(e.event.channel), String(e.event.sha256)]));
  assert.deepEqual([...storedBefore.keys()].sort(), ['ch-1', 'ch-3']);
  const bytesBefore = await Promise.all(['ch-1', 'ch-3'].map((c) => readFile(join(target, `${c}.apk`))));

  await rmdir(blocked);
  const r = await subpack(['retry', taskId], stack.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /attempt 2; it ended partial/);
  await stack.waitForEvent(tap, taskId, 'task.completed', 90_000, 2);
  await delay(1500);
  const completed = ofRun(taskId, 'task.completed', 2);
  assert.equal(completed.length, 1, `one task.completed for the new run: ${JSON.stringify(eventsFor(tap.messages, taskId, 'task.completed').map((e) => e.event))}`);
  const { at: _at, ...event } = completed[0]!.event;
  assert.deepEqual(event, { type: 'task.completed', taskId, status: 'done', total: 3, done: 3, written: 1, kept: 2, failed: 0, taskAttempt: 2 });

  const storedAfter = ofRun(taskId, 'channel.stored', 2);
  assert.deepEqual(storedAfter.map((e) => e.event.channel).sort(), channels, 'every channel announced once in the new run');
  for (const [channel, sha256] of storedBefore) {
    assert.equal(storedAfter.find((e) => e.event.channel === channel)?.event.sha256, sha256, `${channel} keeps its SHA-256`);
  }
  assert.deepEqual(await Promise.all(['ch-1', 'ch-3'].map((c) => readFile(join(target, `${c}.apk`)))), bytesBefore, 'kept files hold the same bytes');
  assert.ok(storedAfter.every((e) => e.messageId === `channel.stored:${taskId}#2:${String(e.event.channel)}`), 'the new run has message ids of its own');
  assert.deepEqual(await checkChannelApks(filesOfRun(taskId, 2)), []);
  const status = await stack.status(taskId);
  assert.deepEqual({ status: status.status, kept: status.kept, failed: status.failed }, { status: 'done', kept: 2, failed: 0 });
});
