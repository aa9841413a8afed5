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
import { TransientError, publishEvent } from '@subpack/messaging';
import { ALL_CHANNELS_FAILED } from '@subpack/state';
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
    // Redeliveries store nothing new, so they announce nothing: one channel.stored per channel.
    const stored = ofType(events, 'channel.stored');
    assert.deepEqual(stored.map((e) => e.channel).sort(), ['a', 'b', 'c', 'd']);
    assert.equal((await pipeline.store.getTaskSummary(task.taskId))?.status, 'done');
    assert.equal((await targetFiles(task)).length, 4);
  });
  test('a channel recorded stored but never announced (its delivery ran out of retries) is announced before task.completed', async () => {
    const task = await pipeline.task(master, ['s1', 's2', 's3']);
    const jobs = await acceptAndPlan(task);
    await storeChannel(pipeline.uploader('u1'), jobs[0]);
    // The delivery of s2 records it, then cannot announce it (the broker is away), and is parked.
    await assert.rejects(storeChannel(pipeline.uploaderWithoutBroker('u1'), jobs[1]), (err: unknown) => err instanceof TransientError && /broker is away/.test(err.message));
    const parked = { routingKey: ROUTING_KEYS.channelStore, body: jobs[1], reason: 'storing s2 failed after 5 attempts: the broker is away' };
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', parked);
    assert.deepEqual(ofType(await pipeline.events(task.taskId), 'channel.stored').map((e) => e.channel), ['s1']);
    // The last channel completes the task.
    await storeChannel(pipeline.uploader('u2'), jobs[2]);

    const events = await pipeline.events(task.taskId);
    const stored = ofType(events, 'channel.stored');
    assert.deepEqual(stored.map((e) => e.channel).sort(), ['s1', 's2', 's3']);
    const s2 = stored.find((e) => e.channel === 's2')!;
    const first = stored.find((e) => e.channel === 's1')!;
    assert.deepEqual({ bytes: s2.bytes, sha256: s2.sha256.length }, { bytes: first.bytes, sha256: 64 }, 'announced with the facts recorded for it');
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 1);
    assert.equal(completed[0]!.status, 'done');
    assert.ok(events.indexOf(s2) < events.indexOf(completed[0]!), 'every channel.stored comes before task.completed');
  });
});

describe('completing while a channel is being announced', () => {
  test('the last channel waits for another delivery announcing a channel, then completes the task after it', async () => {
    const task = await pipeline.task(master, ['h1', 'h2']);
    const [h1, h2] = await acceptAndPlan(task);
    // h2 is recorded by a delivery that holds its announcement and has not published yet.
    await assert.rejects(storeChannel(pipeline.uploaderWithoutBroker('u1'), h2), TransientError);
    assert.equal(await pipeline.store.claimChannelStored(task.taskId, 'h2', 'holder', 60_000), 'claimed');
    let lastDone = false;
    const last = storeChannel(pipeline.uploader('u2'), h1).then((result) => {
      lastDone = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    let events = await pipeline.events(task.taskId);
    assert.equal(lastDone, false, 'the last channel waits for the announcement under way');
    assert.deepEqual(ofType(events, 'channel.stored').map((e) => e.channel), ['h1']);
    assert.equal(ofType(events, 'task.completed').length, 0, 'not before every stored channel is announced');
    // The holder's publish fails and it lets go: the waiting delivery announces h2 itself and completes the task.
    await pipeline.store.releaseChannelStored(task.taskId, 'h2', 'holder');
    await last;
    events = await pipeline.events(task.taskId);
    assert.deepEqual(ofType(events, 'channel.stored').map((e) => e.channel).sort(), ['h1', 'h2']);
    const completed = ofType(events, 'task.completed');
    assert.equal(completed.length, 1);
    assert.equal(completed[0]!.status, 'done');
    assert.ok(events.indexOf(ofType(events, 'channel.stored').find((e) => e.channel === 'h2')!) < events.indexOf(completed[0]!));
  });

  test('a completion whose publisher crashed is published by the next delivery once its lease has run out', async () => {
    const task = await pipeline.task(master, ['c1']);
    const [c1] = await acceptAndPlan(task);
    await storeChannel(pipeline.uploaderWithoutBroker('u1'), c1!).catch(() => undefined);
    // A delivery took the completion and died before publishing it.
    assert.equal(await pipeline.store.claimCompletion(task.taskId, 'crashed', 400), 'claimed');
    await storeChannel(pipeline.uploader('u2'), c1!);
    const events = await pipeline.events(task.taskId);
    assert.deepEqual(ofType(events, 'channel.stored').map((e) => e.channel), ['c1']);
    assert.equal(ofType(events, 'task.completed').length, 1);
  });
});

describe('events once per transition', () => {
  test('a task accepted and planned again and again, its channels stored by concurrent duplicates, announces each step once', async () => {
    const channels = ['e1', 'e2', 'e3', 'e4', 'e5'];
    const task = await pipeline.task(master, channels);
    await Promise.all([acceptTask(pipeline.packer('p1'), task), acceptTask(pipeline.packer('p2'), task)].map((p) => p.catch((err: unknown) => err)));
    await acceptTask(pipeline.packer('p3'), task);
    const batches = await pipeline.drain(QUEUES.packerBatches);
    assert.ok(batches.length >= 2, `every accept before planning hands the batch on: ${batches.length}`);
    for (const batch of batches) await planBatch(pipeline.packer(), batch);
    // Once the batch is planned, a resent task hands nothing on again.
    await acceptTask(pipeline.packer('p4'), task);
    assert.equal((await pipeline.drain(QUEUES.packerBatches)).length, 0);
    const jobs = (await pipeline.drain(QUEUES.uploaderStore)).map((body) => body as ChannelStoreJob);
    assert.equal(jobs.length, channels.length * batches.length);
    // A delivery that meets another announcing the same channel waits for it instead of failing into a retry.
    await Promise.all(jobs.map((job, i) => storeChannel(pipeline.uploader(`u${i % 3}`), job)));
    for (const job of jobs) await storeChannel(pipeline.uploader('late'), job);

    const events = await pipeline.events(task.taskId);
    assert.equal(ofType(events, 'task.accepted').length, 1, JSON.stringify(ofType(events, 'task.accepted')));
    assert.deepEqual(ofType(events, 'channel.stored').map((e) => e.channel).sort(), channels);
    assert.equal(ofType(events, 'task.completed').length, 1);
  });

  test('a channel whose announcer crashed is announced by the next delivery once its lease has run out', async () => {
    const task = await pipeline.task(master, ['lease-a', 'lease-b']);
    const [, second] = await acceptAndPlan(task);
    // Another delivery took the announcement and died before publishing it.
    assert.equal(await pipeline.store.claimChannelStored(task.taskId, 'lease-b', 'crashed', 400), 'claimed');
    await storeChannel(pipeline.uploader('u2'), second!);
    await storeChannel(pipeline.uploader('u3'), second!);
    assert.deepEqual(ofType(await pipeline.events(task.taskId), 'channel.stored').map((e) => e.channel), ['lease-b']);
  });

  test('a delivery that finds the announcement under way waits for its holder, and announces nothing more', async () => {
    const task = await pipeline.task(master, ['w1']);
    const [w1] = await acceptAndPlan(task);
    await assert.rejects(storeChannel(pipeline.uploaderWithoutBroker('u1'), w1!), TransientError);
    assert.equal(await pipeline.store.claimChannelStored(task.taskId, 'w1', 'holder', 60_000), 'claimed');
    const waiting = storeChannel(pipeline.uploader('u2'), w1!);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The holder publishes and confirms.
    const [record] = (await pipeline.store.listChannels(task.taskId)).channels;
    await publishEvent(pipeline.manager.publisher, { type: 'channel.stored', taskId: task.taskId, channel: 'w1', url: record!.url!, bytes: record!.bytes!, md5: record!.md5!, sha256: record!.sha256!, at: new Date().toISOString() });
    await pipeline.store.confirmChannelStored(task.taskId, 'w1');
    await waiting;
    const events = await pipeline.events(task.taskId);
    assert.equal(ofType(events, 'channel.stored').length, 1, 'the waiting delivery announced nothing more');
    assert.equal(ofType(events, 'task.completed').length, 1, 'and completed the task');
  });
});

describe('outcomes', () => {
  test('a task none of whose channels is stored fails with a summary of the reasons, and comes back to partial on a replay', async () => {
    const task = await pipeline.task(master, ['f1', 'f2', 'f3']);
    const jobs = await acceptAndPlan(task);
    const reasons = ['storing f1 failed after 5 attempts: EIO', 'storing f2 failed after 5 attempts: EIO', 'bucket gone'];
    for (const [i, job] of jobs.entries()) {
      await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-1', { routingKey: ROUTING_KEYS.channelStore, body: job, reason: reasons[i]! });
    }
    // A late duplicate of the last park changes nothing.
    await accountParked(pipeline.store, pipeline.manager.publisher, 'retry-2', { routingKey: ROUTING_KEYS.channelStore, body: jobs[2], reason: reasons[2]! });

    const events = await pipeline.events(task.taskId);
    assert.equal(ofType(events, 'task.completed').length, 0, 'nothing was produced, so the task did not complete');
    const failed = ofType(events, 'task.failed');
    assert.equal(failed.length, 1, JSON.stringify(failed));
    assert.equal(failed[0]!.error.code, ALL_CHANNELS_FAILED);
    assert.match(failed[0]!.error.message, /^no channel was stored; 3 channels failed: 3 PARKED \(e\.g\. (storing f\d failed after 5 attempts: EIO|bucket gone)\)$/);
    const summary = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: summary?.status, done: summary?.done, failed: summary?.failed, code: summary?.error?.code }, { status: 'failed', done: 0, failed: 3, code: ALL_CHANNELS_FAILED });

    await storeChannel(pipeline.uploader('replay'), jobs[0]);
    const replayed = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual({ status: replayed?.status, done: replayed?.done, failed: replayed?.failed }, { status: 'partial', done: 1, failed: 2 });
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

describe('rerunning into the same target', () => {
  test('outputs that already hold their bytes are kept and counted apart from those written', async () => {
    const first = await pipeline.task(master, ['a', 'b']);
    for (const job of await acceptAndPlan(first)) await storeChannel(pipeline.uploader('u1'), job);
    const rerun: PackTask = { ...first, taskId: `${first.taskId}-again`, channels: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] };
    const outcomes: boolean[] = [];
    for (const job of await acceptAndPlan(rerun)) outcomes.push((await storeChannel(pipeline.uploader('u1'), job)).skipped);
    assert.deepEqual(outcomes, [true, true, false]);
    const [completed] = ofType(await pipeline.events(rerun.taskId), 'task.completed');
    assert.deepEqual(
      { done: completed?.done, written: completed?.written, kept: completed?.kept, failed: completed?.failed },
      { done: 3, written: 1, kept: 2, failed: 0 },
    );
    const summary = await pipeline.store.getTaskSummary(rerun.taskId);
    assert.deepEqual([summary?.done, summary?.kept], [3, 2]);
  });
});
