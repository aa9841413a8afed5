// Running a finished task again: the decisions on their own, then `retryTask` and the parked-replay gate on the real
// RabbitMQ and Redis, driving the packer and uploader steps by hand.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { validateChannelStoreJob, validatePackTask, type ChannelStoreJob, type PackTask, type SubpackEvent } from '@subpack/contracts';
import { QUEUES, ROUTING_KEYS } from '@subpack/rules';
import { standardApk } from '@subpack/testing';
import { PermanentError } from '@subpack/messaging';
import type { TaskSummary } from '@subpack/state';
import { failChannel } from './completion';
import { accountParked } from './parked';
import { acceptTask, planBatch } from './packer-steps';
import { decideTaskReplay, decideTaskRetry, prepareParkedReplay, resendNote, retryTask } from './task-retry';
import { Pipeline } from './test-support/pipeline';
import { storeChannel } from './uploader-steps';

function summary(overrides: Partial<TaskSummary>): TaskSummary {
  return {
    taskId: 't1',
    status: 'failed',
    total: 3,
    done: 0,
    kept: 0,
    failed: 0,
    batches: 1,
    master: 'file:///m.apk',
    target: 'file:///out/',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    attempt: 1,
    ...overrides,
  };
}

describe('deciding', () => {
  test('retry: only a task that ended failed or partial runs again; the others say why and what to run', () => {
    assert.deepEqual(decideTaskRetry('t1', summary({ status: 'failed' })), { retry: true });
    assert.deepEqual(decideTaskRetry('t1', summary({ status: 'partial', done: 2, failed: 1 })), { retry: true });
    const unknown = decideTaskRetry('nope', null);
    assert.ok(!unknown.retry && /no task "nope"/.test(unknown.reason), JSON.stringify(unknown));
    for (const status of ['pending', 'running'] as const) {
      const running = decideTaskRetry('t1', summary({ status, done: 1 }));
      assert.ok(!running.retry && /still running \(1 stored, 0 failed of 3 so far\); follow it with `subpack status t1`/.test(running.reason), JSON.stringify(running));
    }
    const done = decideTaskRetry('t1', summary({ status: 'done', done: 3 }));
    assert.ok(!done.retry && /is done/.test(done.reason), JSON.stringify(done));
  });

  test('replay: a finished task runs again from its parked task.pack only when it failed before any channel was planned', () => {
    const base = { taskId: 't1', plannedBatches: 0, recordedFingerprint: 'fp', bodyFingerprint: 'fp' };
    assert.deepEqual(decideTaskReplay({ ...base, task: null, recordedFingerprint: null }), { action: 'send' });
    assert.deepEqual(decideTaskReplay({ ...base, task: summary({ status: 'running' }) }), { action: 'send' });
    // Never accepted (the record failTask leaves), or accepted and failed before its batches went out.
    assert.deepEqual(decideTaskReplay({ ...base, task: summary({ total: 0, batches: 0 }), recordedFingerprint: null }), { action: 'retry' });
    assert.deepEqual(decideTaskReplay({ ...base, task: summary({}) }), { action: 'retry' });
    const planned = decideTaskReplay({ ...base, task: summary({}), plannedBatches: 1 });
    assert.equal(planned.action, 'refuse');
    const partial = decideTaskReplay({ ...base, task: summary({ status: 'partial', done: 2, failed: 1 }), plannedBatches: 1 });
    assert.ok(partial.action === 'refuse' && /ended partial after its channels were planned \(2 stored, 1 failed of 3\).*run `subpack retry t1`/.test(partial.reason), JSON.stringify(partial));
    const allFailed = decideTaskReplay({ ...base, task: summary({ failed: 3 }) });
    assert.ok(allFailed.action === 'refuse' && /run `subpack retry t1`/.test(allFailed.reason), JSON.stringify(allFailed));
    const done = decideTaskReplay({ ...base, task: summary({ status: 'done', done: 3 }), plannedBatches: 1 });
    assert.ok(done.action === 'refuse' && /is done/.test(done.reason), JSON.stringify(done));
    const other = decideTaskReplay({ ...base, task: summary({}), bodyFingerprint: 'fp-2' });
    assert.ok(other.action === 'refuse' && /not the content/.test(other.reason), JSON.stringify(other));
  });
});

let pipeline: Pipeline;
let master: string;

before(async () => {
  pipeline = await Pipeline.create('retry');
  master = await standardApk('v2Only');
});
after(async () => {
  await pipeline?.cleanup();
});

function ofType<T extends SubpackEvent['type']>(events: SubpackEvent[], type: T): Extract<SubpackEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SubpackEvent, { type: T }> => e.type === type);
}

/** Takes the task.pack messages the retry sent, each with its id. */
async function sentTasks(): Promise<{ task: PackTask; messageId: string | undefined }[]> {
  return (await pipeline.drainMessages(QUEUES.packerTasks)).map(({ body, messageId }) => {
    const checked = validatePackTask(body);
    if (!checked.ok) throw new Error(checked.errors.join('; '));
    return { task: checked.value, messageId };
  });
}

/** Runs a task.pack through the packer steps; returns the channel.store jobs handed on, and every message id seen. */
async function acceptAndPlan(task: PackTask): Promise<{ jobs: ChannelStoreJob[]; ids: string[] }> {
  await acceptTask(pipeline.packer(), task);
  const ids: string[] = [];
  for (const batch of await pipeline.drainMessages(QUEUES.packerBatches)) {
    ids.push(batch.messageId ?? '');
    await planBatch(pipeline.packer(), batch.body);
  }
  const jobs: ChannelStoreJob[] = [];
  for (const m of await pipeline.drainMessages(QUEUES.uploaderStore)) {
    const job = validateChannelStoreJob(m.body);
    if (!job.ok) throw new Error(job.errors.join('; '));
    ids.push(m.messageId ?? '');
    jobs.push(job.value);
  }
  return { jobs, ids };
}

describe('retryTask', () => {
  test('a partial task runs again: stored channels are kept with the same bytes, the failed one is written, one new task.completed', async () => {
    const task = await pipeline.task(master, ['r1', 'r2', 'r3'], { naming: '{channel}.apk' });
    const first = await acceptAndPlan(task);
    await storeChannel(pipeline.uploader('u1'), first.jobs[0]);
    await storeChannel(pipeline.uploader('u1'), first.jobs[1]);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.channelStore, body: first.jobs[2], reason: 'target refused r3' });
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.status, 'partial');
    const out = fileURLToPath(task.target);
    const before = await Promise.all(['r1', 'r2'].map((c) => readFile(join(out, `${c}.apk`))));
    assert.match((await resendNote(pipeline.store, task)) ?? '', /already finished partial: run `subpack retry /);

    const started = await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, task.taskId);
    assert.deepEqual(started, { started: true, attempt: 2, previous: 'partial' });
    const again = await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, task.taskId);
    assert.ok(!again.started && /still running/.test(again.reason), 'a started retry is not started twice');
    const [sent, ...more] = await sentTasks();
    assert.equal(more.length, 0, 'one task.pack');
    assert.equal(sent!.messageId, `task.pack:${task.taskId}#2`);
    assert.deepEqual(sent!.task, task, 'the content it was sent with');

    const second = await acceptAndPlan(sent!.task);
    assert.deepEqual(second.ids.sort(), [`channel.store:${task.taskId}#2:r1`, `channel.store:${task.taskId}#2:r2`, `channel.store:${task.taskId}#2:r3`, `pack.batch:${task.taskId}#2:0`]);
    const outcomes = [];
    for (const job of second.jobs) outcomes.push((await storeChannel(pipeline.uploader('u2'), job)).skipped);
    assert.deepEqual(outcomes, [true, true, false], 'r1 and r2 found holding their bytes, r3 written');
    assert.deepEqual(await Promise.all(['r1', 'r2'].map((c) => readFile(join(out, `${c}.apk`)))), before);

    const events = await pipeline.events(task.taskId);
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 2, JSON.stringify(completed));
    const { at: _at, ...last } = completed[1]!;
    assert.deepEqual(last, { type: 'task.completed', taskId: task.taskId, status: 'done', total: 3, done: 3, written: 1, kept: 2, failed: 0, taskAttempt: 2 });
    assert.equal(completed[0]!.taskAttempt, undefined, 'the first run\'s events carry no attempt');
    const accepted = ofType(events, 'task.accepted');
    assert.deepEqual(accepted.map((e) => e.taskAttempt), [undefined, 2]);
    const stored = ofType(events, 'channel.stored').filter((e) => e.taskAttempt === 2);
    assert.deepEqual(stored.map((e) => e.channel).sort(), ['r1', 'r2', 'r3']);
    const status = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: status?.status, attempt: status?.attempt, kept: status?.kept }, { status: 'done', attempt: 2, kept: 2 });

    const done = await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, task.taskId);
    assert.ok(!done.started && /is done/.test(done.reason), JSON.stringify(done));
    const unknown = await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, 'never-sent');
    assert.ok(!unknown.started && /no task "never-sent"/.test(unknown.reason), JSON.stringify(unknown));
    assert.deepEqual(await sentTasks(), [], 'a refused retry sends nothing');
  });

  test('a task whose master was missing when it was sent completes after a retry once the master is there; a resend only says so', async () => {
    const task = await pipeline.task(join(pipeline.workDir, 'later.apk'), ['m1', 'm2']);
    await assert.rejects(acceptTask(pipeline.packer(), task), PermanentError);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.packTask, body: task, reason: 'master missing' });
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.status, 'failed');
    const resent = await acceptTask(pipeline.packer(), task);
    assert.deepEqual(resent.note, `task "${task.taskId}" already failed: run \`subpack retry ${task.taskId}\``);
    await assert.rejects(acceptTask(pipeline.packer(), { ...task, channels: [{ id: 'other' }] }), /already used for different content/);

    await copyFile(master, fileURLToPath(task.master));
    assert.deepEqual(await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, task.taskId), { started: true, attempt: 2, previous: 'failed' });
    const [sent] = await sentTasks();
    const { jobs } = await acceptAndPlan(sent!.task);
    for (const job of jobs) await storeChannel(pipeline.uploader('u1'), job);
    const events = await pipeline.events(task.taskId);
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 1);
    assert.deepEqual({ status: completed[0]!.status, done: completed[0]!.done, taskAttempt: completed[0]!.taskAttempt }, { status: 'done', done: 2, taskAttempt: 2 });
    assert.deepEqual(ofType(events, 'task.failed').map((e) => e.taskAttempt), [undefined]);
  });
});

describe('replaying a parked task.pack', () => {
  test('runs the task again when it failed before any channel was planned, and otherwise keeps it parked with the reason', async () => {
    const task = await pipeline.task(join(pipeline.workDir, 'replayed.apk'), ['p1']);
    const body = Buffer.from(JSON.stringify(task));
    await assert.rejects(acceptTask(pipeline.packer(), task), PermanentError);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.packTask, body: task, reason: 'master missing' });
    assert.equal(await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.channelStore, body }), undefined, 'other messages go as they are');

    assert.equal(await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.packTask, body }), undefined);
    const reset = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: reset?.status, attempt: reset?.attempt }, { status: 'pending', attempt: 2 });

    // Sent again with the master still missing, it fails again; it now has channels planned only once accepted.
    await assert.rejects(acceptTask(pipeline.packer(), task), PermanentError);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.packTask, body: task, reason: 'master missing' });
    const failed = ofType(await pipeline.events(task.taskId), 'task.failed');
    assert.deepEqual(failed.map((e) => e.taskAttempt), [undefined, 2], 'one task.failed per run');

    await copyFile(master, fileURLToPath(task.master));
    assert.equal(await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.packTask, body }), undefined);
    const { jobs } = await acceptAndPlan(task);
    await failChannel(pipeline.store, pipeline.manager.publisher, 'x', { taskId: task.taskId, channel: jobs[0]!.channel, error: { code: 'PARKED', message: 'target refused' }, attempt: 3 });
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.status, 'failed');
    const refused = await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.packTask, body });
    assert.match(refused ?? '', /ended failed after its channels were planned .*run `subpack retry /);
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.attempt, 3, 'a refused replay changes nothing');
    const foreign = Buffer.from(JSON.stringify({ ...task, target: pathToFileURL(pipeline.workDir).href + '/elsewhere/' }));
    assert.match((await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.packTask, body: foreign })) ?? '', /not the content/);
  });
});
