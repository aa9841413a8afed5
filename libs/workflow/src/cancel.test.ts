// Cancelling a running task on the real RabbitMQ and Redis, driving the packer and uploader steps by hand: nothing is
// planned, written, completed, retried or replayed after the cancel, and it is announced once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validateChannelStoreJob, type ChannelStoreJob, type PackTask, type SubpackEvent } from '@subpack/contracts';
import { QUEUES, ROUTING_KEYS } from '@subpack/rules';
import { openTarget, type ChannelTarget } from '@subpack/storage';
import { standardApk } from '@subpack/testing';
import { cancelTask } from './cancel';
import { accountParked } from './parked';
import { acceptTask, planBatch } from './packer-steps';
import { sweepStalls } from './stalls';
import { prepareParkedReplay, retryTask } from './task-retry';
import { Pipeline } from './test-support/pipeline';
import { storeChannel } from './uploader-steps';

let pipeline: Pipeline;
let master: string;

before(async () => {
  pipeline = await Pipeline.create('cancel');
  master = await standardApk('v2Only');
});
after(async () => {
  await pipeline?.cleanup();
});

function jobsOf(bodies: unknown[]): ChannelStoreJob[] {
  return bodies.map((body) => {
    const job = validateChannelStoreJob(body);
    if (!job.ok) throw new Error(job.errors.join('; '));
    return job.value;
  });
}

function types(events: SubpackEvent[]): string[] {
  return events.map((e) => e.type);
}

async function targetFiles(task: PackTask): Promise<string[]> {
  return (await readdir(fileURLToPath(task.target))).filter((f) => !f.startsWith('.')).sort();
}

const deps = (owner = 'ops-cli'): Parameters<typeof cancelTask>[0] => ({ store: pipeline.store, publisher: pipeline.manager.publisher, owner });

describe('cancelling a running task', () => {
  test('stops planning and writing, keeps what was stored, never completes, and is announced once', async () => {
    // 60 channels in batches of 25: the first batch is planned and partly stored before the cancel.
    const task = await pipeline.task(master, Array.from({ length: 60 }, (_, i) => `ch-${i}`));
    await acceptTask(pipeline.packer(), task);
    const batches = await pipeline.drain(QUEUES.packerBatches);
    assert.equal(batches.length, 3);
    await planBatch(pipeline.packer(), batches[0]);
    const jobs = jobsOf(await pipeline.drain(QUEUES.uploaderStore));
    for (const job of jobs.slice(0, 5)) await storeChannel(pipeline.uploader('u1'), job);

    const cancelled = await cancelTask(deps(), task.taskId, 'ops@example.com', { reason: 'wrong build' });
    assert.deepEqual(cancelled, { outcome: 'cancelled', status: 'cancelled', done: 5, failed: 0, total: 60 });
    const files = await targetFiles(task);
    assert.equal(files.length, 5);

    // Nothing more is planned or written, and nothing completes.
    for (const batch of batches.slice(1)) assert.deepEqual(await planBatch(pipeline.packer(), batch), { planned: 0, failed: 0 });
    assert.deepEqual(await pipeline.drain(QUEUES.uploaderStore), [], 'a cancelled task hands no channel on');
    for (const job of jobs.slice(5)) assert.equal((await storeChannel(pipeline.uploader('u2'), job)).cancelled, true);
    assert.equal((await storeChannel(pipeline.uploader('u2'), jobs[0])).cancelled, true, 'a redelivery writes nothing either');
    assert.deepEqual(await targetFiles(task), files);

    // A second cancel is harmless: same counts, no second event.
    assert.deepEqual(await cancelTask(deps('other'), task.taskId), { outcome: 'already-cancelled', status: 'cancelled', done: 5, failed: 0, total: 60 });

    // Parked messages of the task fail nothing more, and nothing automatic brings it back.
    await accountParked(pipeline.store, pipeline.manager.publisher, 'scheduler', { routingKey: ROUTING_KEYS.channelStore, body: jobs[10], reason: 'gave up' });
    await accountParked(pipeline.store, pipeline.manager.publisher, 'scheduler', { routingKey: ROUTING_KEYS.packTask, body: task, reason: 'gave up' });
    const resend = await acceptTask(pipeline.packer(), task);
    assert.equal(resend.resent, true);
    assert.match(resend.note ?? '', /was cancelled: a resend does not start it again; run `subpack retry/);
    assert.deepEqual(await pipeline.drain(QUEUES.packerBatches), []);
    const replay = await prepareParkedReplay(pipeline.store, { routingKey: ROUTING_KEYS.packTask, body: Buffer.from(JSON.stringify(task)) });
    assert.match(replay ?? '', /was cancelled/);
    assert.deepEqual((await sweepStalls(pipeline.store, pipeline.manager.publisher, 0)).stalled, []);

    const summary = await pipeline.store.getTaskSummary(task.taskId);
    assert.deepEqual(
      { status: summary?.status, done: summary?.done, failed: summary?.failed, by: summary?.cancelledBy, reason: summary?.cancelReason },
      { status: 'cancelled', done: 5, failed: 0, by: 'ops@example.com', reason: 'wrong build' },
    );
    const events = await pipeline.events(task.taskId);
    assert.deepEqual(types(events).filter((t) => t.startsWith('task.')), ['task.accepted', 'task.cancelled']);
    assert.equal(types(events).filter((t) => t === 'channel.stored').length, 5);
    assert.ok(!types(events).includes('channel.failed'));
    const [event] = events.filter((e) => e.type === 'task.cancelled');
    assert.deepEqual({ ...event, at: undefined }, { type: 'task.cancelled', taskId: task.taskId, total: 60, done: 5, failed: 0, cancelledBy: 'ops@example.com', at: undefined });

    // A person may still run it again.
    const retried = await retryTask({ store: pipeline.store, publisher: pipeline.manager.publisher }, task.taskId);
    assert.deepEqual(retried, { started: true, attempt: 2, previous: 'cancelled' });
    assert.equal((await pipeline.drain(QUEUES.packerTasks)).length, 1);
  });

  test('waits for a write already under way and records it, so the counts match the target', async () => {
    const task = await pipeline.task(master, ['a', 'b', 'c']);
    await acceptTask(pipeline.packer(), task);
    for (const batch of await pipeline.drain(QUEUES.packerBatches)) await planBatch(pipeline.packer(), batch);
    const [a, b] = jobsOf(await pipeline.drain(QUEUES.uploaderStore));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writing: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (writing = resolve));
    const slow = {
      ...pipeline.uploader('slow'),
      openTarget: (url: string, opts?: Parameters<typeof openTarget>[1]): ChannelTarget => {
        const real = openTarget(url, opts);
        return Object.assign(Object.create(real) as ChannelTarget, {
          store: async (req: Parameters<ChannelTarget['store']>[0]) => {
            writing();
            await gate;
            return real.store(req);
          },
        });
      },
    };
    const inFlight = storeChannel(slow, a);
    await started;
    const cancelling = cancelTask(deps(), task.taskId);
    // The cancel is made at once: a job arriving now writes nothing.
    while ((await pipeline.store.getTaskSummary(task.taskId))?.status !== 'cancelled') await new Promise((r) => setTimeout(r, 5));
    assert.equal((await storeChannel(pipeline.uploader('u3'), b)).cancelled, true);
    release();
    assert.equal((await inFlight).cancelled, undefined, 'the write under way finished and was recorded');
    assert.deepEqual(await cancelling, { outcome: 'cancelled', status: 'cancelled', done: 1, failed: 0, total: 3 });
    assert.deepEqual(await targetFiles(task), ['com.example.v2only-1.0.0-a.apk']);
    const events = types(await pipeline.events(task.taskId));
    assert.deepEqual(events.filter((t) => t !== 'task.accepted'), ['channel.stored', 'task.cancelled']);
  });

  test('a finished task and an unknown one are left alone', async () => {
    const task = await pipeline.task(master, ['only']);
    await acceptTask(pipeline.packer(), task);
    for (const batch of await pipeline.drain(QUEUES.packerBatches)) await planBatch(pipeline.packer(), batch);
    for (const job of await pipeline.drain(QUEUES.uploaderStore)) await storeChannel(pipeline.uploader('u1'), job);
    assert.deepEqual(await cancelTask(deps(), task.taskId), { outcome: 'finished', status: 'done', done: 1, failed: 0, total: 1 });
    assert.deepEqual(await cancelTask(deps(), 'never-sent'), { outcome: 'no-task' });
    assert.ok(!types(await pipeline.events(task.taskId)).includes('task.cancelled'));
  });
});
