// The pipeline steps on the real RabbitMQ and Redis, without service processes: idempotent stores, one completion,
// parked accounting and channel isolation inside a batch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateChannelStoreJob, type ChannelStoreJob, type PackTask, type SubpackEvent } from '@subpack/contracts';
import { QUEUES, ROUTING_KEYS } from '@subpack/rules';
import { apksignerVerify, standardApk, withZipComment } from '@subpack/testing';
import { accountParked } from './parked';
import { acceptTask, planBatch } from './packer-steps';
import { Pipeline } from './test-support/pipeline';
import { storeChannel } from './uploader-steps';

let pipeline: Pipeline;
let master: string;

before(async () => {
  pipeline = await Pipeline.create('steps');
  master = await standardApk('v2Only');
});
after(async () => {
  await pipeline?.cleanup();
});

/** Accepts and plans a task; returns the channel.store jobs the packer handed on. */
async function acceptAndPlan(task: PackTask): Promise<ChannelStoreJob[]> {
  await acceptTask(pipeline.packer(), task);
  for (const batch of await pipeline.drain(QUEUES.packerBatches)) await planBatch(pipeline.packer(), batch);
  return (await pipeline.drain(QUEUES.uploaderStore)).map((body) => {
    const job = validateChannelStoreJob(body);
    if (!job.ok) throw new Error(job.errors.join('; '));
    return job.value;
  });
}

function ofType<T extends SubpackEvent['type']>(events: SubpackEvent[], type: T): Extract<SubpackEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SubpackEvent, { type: T }> => e.type === type);
}

async function targetFiles(task: PackTask): Promise<string[]> {
  return (await readdir(fileURLToPath(task.target))).filter((f) => !f.startsWith('.')).sort();
}

describe('storing a channel', () => {
  test('a redelivered store job finds the finished APK: nothing is written or counted twice', async () => {
    // Naming templates may create subdirectories in the distributed path too.
    const task = await pipeline.task(master, ['huawei', 'xiaomi', 'oppo'], { naming: '{package}/{versionCode}/{channel}.apk' });
    const jobs = await acceptAndPlan(task);
    assert.deepEqual(jobs.map((j) => j.channel), ['huawei', 'xiaomi', 'oppo']);
    const first = await storeChannel(pipeline.uploader('uploader-1'), jobs[0]);
    assert.equal(first.skipped, false);
    const again = await storeChannel(pipeline.uploader('uploader-2'), jobs[0]);
    assert.deepEqual({ url: again.url, skipped: again.skipped }, { url: first.url, skipped: true });

    const summary = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: summary?.status, done: summary?.done, failed: summary?.failed }, { status: 'running', done: 1, failed: 0 });
    assert.deepEqual(await targetFiles(task), ['com.example.v2only']);
    assert.deepEqual(await readdir(join(fileURLToPath(task.target), 'com.example.v2only', '42')), ['huawei.apk']);
    const verified = await apksignerVerify(join(fileURLToPath(task.target), 'com.example.v2only', '42', 'huawei.apk'));
    assert.ok(verified.v2, verified.output);
  });
});

describe('completing a task', () => {
  test('two uploaders storing the last channels at once, then redeliveries, publish task.completed exactly once', async () => {
    const task = await pipeline.task(master, ['a', 'b', 'c', 'd']);
    const jobs = await acceptAndPlan(task);
    await storeChannel(pipeline.uploader('u1'), jobs[0]);
    await storeChannel(pipeline.uploader('u1'), jobs[1]);
    await Promise.all([storeChannel(pipeline.uploader('u1'), jobs[2]), storeChannel(pipeline.uploader('u2'), jobs[3])]);
    await Promise.all(jobs.map((job, i) => storeChannel(pipeline.uploader(`late-${i}`), job)));

    const events = await pipeline.events(task.taskId);
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 1, JSON.stringify(completed));
    assert.deepEqual({ status: completed[0]!.status, total: completed[0]!.total, done: completed[0]!.done, failed: completed[0]!.failed }, { status: 'done', total: 4, done: 4, failed: 0 });
    // Redeliveries announce their channel again (same event id, so consumers drop it), never a second completion.
    const stored = ofType(events, 'channel.stored');
    assert.deepEqual([...new Set(stored.map((e) => e.channel))].sort(), ['a', 'b', 'c', 'd']);
    for (const job of jobs) assert.equal(new Set(stored.filter((e) => e.channel === job.channel).map((e) => `${e.url} ${e.sha256}`)).size, 1);
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.status, 'done');
    assert.equal((await targetFiles(task)).length, 4);
  });
});

describe('parked messages', () => {
  test('a parked store job counts its channel failed once, and the task completes as partial once', async () => {
    const task = await pipeline.task(master, ['p1', 'p2', 'p3']);
    const jobs = await acceptAndPlan(task);
    await storeChannel(pipeline.uploader('u1'), jobs[0]);
    await storeChannel(pipeline.uploader('u1'), jobs[1]);
    const parked = { routingKey: ROUTING_KEYS.channelStore, body: jobs[2], reason: 'storing p3 failed after 5 attempts: EIO' };
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', parked);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-2', parked); // a replayed park

    const summary = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: summary?.status, done: summary?.done, failed: summary?.failed }, { status: 'partial', done: 2, failed: 1 });
    const events = await pipeline.events(task.taskId);
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 1, JSON.stringify(completed));
    assert.equal(completed[0]!.status, 'partial');
    const failed = ofType(events, 'channel.failed');
    assert.ok(failed.length >= 1 && failed.every((e) => e.channel === 'p3' && e.error.code === 'PARKED' && e.error.message === parked.reason), JSON.stringify(failed));
  });

  test('a parked task fails once with the reason; a body without a task id is left to the parking lot', async () => {
    const task = await pipeline.task(master, ['x']);
    const parked = { routingKey: ROUTING_KEYS.packTask, body: task, reason: 'master unreadable' };
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', parked);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', parked);
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.packTask, body: '{"not":"a task"', reason: 'JSON syntax' });

    const summary = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: summary?.status, error: summary?.error }, { status: 'failed', error: { code: 'PARKED', message: 'master unreadable' } });
    const failed = ofType(await pipeline.events(task.taskId), 'task.failed');
    assert.equal(failed.length, 1, JSON.stringify(failed));
    assert.deepEqual(failed[0]!.error, { code: 'PARKED', message: 'master unreadable' });
  });
});

describe('a batch', () => {
  test('a channel that cannot be planned fails alone; the rest of its batch is stored and the task ends partial', async () => {
    // Room in the ZIP comment for ids up to 20 bytes: VasDolly's v1 format appends the id, its length and a magic.
    const narrow = await withZipComment(await standardApk('v1Only'), 0xffff - 10 - 20, join(pipeline.workDir, 'narrow-comment.apk'));
    const tooLong = 'too-long-for-the-comment';
    const task = await pipeline.task(narrow, ['v1-a', tooLong, 'v1-b']);
    const jobs = await acceptAndPlan(task);
    assert.deepEqual(jobs.map((j) => j.channel), ['v1-a', 'v1-b']);
    let failed = ofType(await pipeline.events(task.taskId), 'channel.failed');
    assert.deepEqual(failed.map((e) => [e.channel, e.error.code]), [[tooLong, 'COMMENT_TOO_LONG']]);
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.failed, 1);

    for (const job of jobs) await storeChannel(pipeline.uploader('u1'), job);
    const events = await pipeline.events(task.taskId);
    failed = ofType(events, 'channel.failed');
    assert.equal(failed.length, 1);
    const completed = ofType(events, 'task.completed');
    assert.deepEqual(completed.map((e) => [e.status, e.done, e.failed]), [['partial', 2, 1]]);
    const storedNames = ofType(events, 'channel.stored').map((e) => basename(fileURLToPath(e.url)));
    assert.deepEqual(await targetFiles(task), [...new Set(storedNames)].sort());
  });
});
