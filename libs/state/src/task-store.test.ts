import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidTaskIdError, TaskNotCompleteError, TaskNotFoundError } from './errors';
import { TaskStore } from './task-store';
import { openTestRedis, type TestRedis } from './test-support/redis';
import type { ChannelMarkResult, StoredChannel, TaskMeta } from './types';

const FINISHED_TTL = 3600;
const ACTIVE_TTL = 86_400;

function meta(total: number, overrides: Partial<TaskMeta> = {}): TaskMeta {
  return {
    total,
    batches: 1,
    master: 'file:///srv/master.apk',
    target: 'file:///srv/out/',
    package: 'com.example.app',
    versionName: '1.2.3',
    versionCode: 123,
    ...overrides,
  };
}

function stored(channel: string): StoredChannel {
  return { url: `file:///srv/out/${channel}.apk`, bytes: 1000, md5: 'a'.repeat(32), sha256: 'b'.repeat(64) };
}

void describe('TaskStore', () => {
  let env: TestRedis;
  let store: TaskStore;
  let counter = 0;
  const newTaskId = (): string => `task-${++counter}`;

  before(() => {
    env = openTestRedis();
    store = new TaskStore(env.redis, {
      keyPrefix: env.prefix,
      finishedTtlSeconds: FINISHED_TTL,
      activeTtlSeconds: ACTIVE_TTL,
    });
  });
  after(async () => {
    await env.cleanup();
  });

  void it('createTask is idempotent and a resend does not reset counters or meta', async () => {
    const taskId = newTaskId();
    const first = await store.createTask(taskId, meta(3));
    assert.equal(first.created, true);
    assert.equal(first.state.status, 'pending');
    assert.deepEqual([first.state.total, first.state.done, first.state.failed], [3, 0, 0]);
    assert.equal(first.state.versionCode, 123);

    await store.markChannelStored(taskId, 'google', stored('google'));
    const resend = await store.createTask(taskId, meta(99, { master: 'file:///other.apk' }));
    assert.equal(resend.created, false);
    assert.equal(resend.state.status, 'running');
    assert.equal(resend.state.total, 3);
    assert.equal(resend.state.done, 1);
    assert.equal(resend.state.master, 'file:///srv/master.apk');
  });

  void it('counts the stored channels that were kept (found holding their bytes) apart from those written', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(4));
    await store.markChannelStored(taskId, 'a', stored('a'));
    await store.markChannelStored(taskId, 'b', { ...stored('b'), kept: true });
    await store.markChannelStored(taskId, 'b', stored('b'));
    await store.markChannelFailed(taskId, 'c', { code: 'E', message: 'no' });
    await store.markChannelStored(taskId, 'c', { ...stored('c'), kept: true });
    const summary = await store.getTaskSummary(taskId);
    assert.deepEqual([summary?.done, summary?.kept, summary?.failed], [3, 2, 0]);
    assert.equal((await store.getTask(taskId))?.channels['b']?.kept, true);
    assert.equal((await store.getTask(taskId))?.channels['a']?.kept, undefined);
  });

  void it('getTask returns meta and channel records, null for an unknown task', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(2, { package: undefined }));
    await store.markChannelStored(taskId, '__proto__', stored('proto'));
    await store.markChannelFailed(taskId, 'huawei', { code: 'E_WRITE', message: 'disk full' });

    const state = await store.getTask(taskId);
    assert.ok(state);
    assert.equal(state.package, undefined);
    assert.equal(state.versionName, '1.2.3');
    assert.deepEqual(Object.keys(state.channels).sort(), ['__proto__', 'huawei']);
    assert.equal(Object.getPrototypeOf(state.channels), Object.prototype);
    assert.equal(state.channels['__proto__']?.url, 'file:///srv/out/proto.apk');
    assert.equal(state.channels['__proto__']?.bytes, 1000);
    assert.deepEqual(state.channels['huawei']?.error, { code: 'E_WRITE', message: 'disk full' });
    assert.equal(state.channels['huawei']?.status, 'failed');

    assert.equal(await store.getTask('no-such-task'), null);
    assert.equal(await store.getTaskSummary('no-such-task'), null);
  });

  void it('listChannels pages through every channel of a big task', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(300));
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.markChannelStored(taskId, `ch${i}`, stored(`ch${i}`))));

    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listChannels(taskId, { cursor, count: 50 });
      for (const entry of page.channels) {
        assert.equal(entry.status, 'stored');
        seen.add(entry.channel);
      }
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    assert.equal(seen.size, 300);
    assert.ok(pages > 1, `expected several pages, got ${pages}`);
  });

  void it('listChannels finds the channels whose id contains a text, glob characters and all', async () => {
    const taskId = newTaskId();
    const ids = ['huawei', 'huawei-cn', 'xiaomi', 'h*w', 'h?w', '[oppo]', '华为-1'];
    await store.createTask(taskId, meta(ids.length));
    for (const id of ids) await store.markChannelStored(taskId, id, stored(id));
    const search = async (text: string): Promise<string[]> => {
      const found: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listChannels(taskId, { cursor, count: 2, containing: text });
        found.push(...page.channels.map((c) => c.channel));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return found.sort();
    };
    assert.deepEqual(await search('huawei'), ['huawei', 'huawei-cn']);
    assert.deepEqual(await search('*'), ['h*w'], 'a glob character is matched as itself');
    assert.deepEqual(await search('?'), ['h?w']);
    assert.deepEqual(await search('[oppo]'), ['[oppo]']);
    assert.deepEqual(await search('华为'), ['华为-1']);
  });

  void it('concurrent markChannelStored with duplicates counts each channel once and completes exactly once', async () => {
    const taskId = newTaskId();
    const channels = Array.from({ length: 50 }, (_, i) => `channel-${i}`);
    await store.createTask(taskId, meta(50));

    const calls = [...channels, ...channels.filter((_, i) => i % 2 === 0)].sort(() => Math.random() - 0.5);
    const results = await Promise.all(calls.map((channel) => store.markChannelStored(taskId, channel, stored(channel))));

    assert.equal(results.filter((r) => r.firstTime).length, 50);
    assert.equal(results.filter((r) => r.complete && r.firstTime).length, 1);
    assert.equal(results.filter((r) => r.justCompleted).length, 1);
    const state = await store.getTask(taskId);
    assert.ok(state);
    assert.deepEqual([state.done, state.failed, state.total], [50, 0, 50]);
    assert.equal(Object.keys(state.channels).length, 50);
    assert.equal(state.status, 'running');
  });

  void it('a redelivered failure or a failure after success changes nothing; a stored replay replaces a failure', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(2));
    const error = { code: 'E_UPLOAD', message: 'bucket gone' };

    const failedOnce = await store.markChannelFailed(taskId, 'a', error);
    assert.deepEqual(pick(failedOnce), { firstTime: true, replacedFailure: false, done: 0, failed: 1, complete: false });
    const failedAgain = await store.markChannelFailed(taskId, 'a', { code: 'E_OTHER', message: 'x' });
    assert.deepEqual(pick(failedAgain), { firstTime: false, replacedFailure: false, done: 0, failed: 1, complete: false });

    const b = await store.markChannelStored(taskId, 'b', stored('b'));
    assert.equal(b.justCompleted, true);
    const bFailedLater = await store.markChannelFailed(taskId, 'b', error);
    assert.deepEqual(pick(bFailedLater), { firstTime: false, replacedFailure: false, done: 1, failed: 1, complete: true });

    assert.equal(await store.claimCompletion(taskId, 'packer-1', 10_000), 'claimed');
    assert.equal((await store.confirmCompletion(taskId)).status, 'partial');

    // Replayed from the parking lot: the failure turns into a success and the finished task becomes done.
    const replay = await store.markChannelStored(taskId, 'a', stored('a'));
    assert.deepEqual(pick(replay), { firstTime: true, replacedFailure: true, done: 2, failed: 0, complete: true });
    assert.equal(replay.justCompleted, false);
    const state = await store.getTask(taskId);
    assert.ok(state);
    assert.equal(state.status, 'done');
    assert.equal(state.channels['a']?.status, 'stored');
    assert.equal(state.channels['a']?.error, undefined);
    assert.equal(await store.claimCompletion(taskId, 'packer-2', 10_000), 'already-sent');
  });

  void it('claimCompletion: one of many concurrent claimers wins; after confirm everyone sees already-sent', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(1));
    await store.markChannelStored(taskId, 'only', stored('only'));

    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.claimCompletion(taskId, `owner-${i}`, 10_000)),
    );
    assert.equal(claims.filter((c) => c === 'claimed').length, 1);
    assert.equal(claims.filter((c) => c === 'held-by-other').length, 19);
    const winner = `owner-${claims.indexOf('claimed')}`;
    assert.equal(await store.claimCompletion(taskId, winner, 10_000), 'claimed', 'the holder may renew its lease');

    const confirmed = await store.confirmCompletion(taskId);
    assert.deepEqual(confirmed, { status: 'done', done: 1, failed: 0, total: 1 });
    const after = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.claimCompletion(taskId, `late-${i}`, 10_000)),
    );
    assert.deepEqual(after, Array<string>(5).fill('already-sent'));
    assert.equal(await store.claimCompletion(taskId, winner, 10_000), 'already-sent');
    const summary = await store.getTaskSummary(taskId);
    assert.equal(summary?.status, 'done');
    assert.ok(summary?.finishedAt);
  });

  void it('an expired lease (crashed claimer) can be re-claimed; a released lease at once', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(1));
    await store.markChannelStored(taskId, 'only', stored('only'));

    assert.equal(await store.claimCompletion(taskId, 'crashed', 100), 'claimed');
    assert.equal(await store.claimCompletion(taskId, 'redelivery', 100), 'held-by-other');
    await sleep(250);
    assert.equal(await store.claimCompletion(taskId, 'redelivery', 5_000), 'claimed');

    assert.equal(await store.releaseCompletion(taskId, 'someone-else'), false);
    assert.equal(await store.claimCompletion(taskId, 'third', 5_000), 'held-by-other');
    assert.equal(await store.releaseCompletion(taskId, 'redelivery'), true);
    assert.equal(await store.claimCompletion(taskId, 'third', 5_000), 'claimed');
  });

  void it('applies the finished TTL to all of the task keys on completion', async () => {
    const taskId = newTaskId();
    const keys = store.keysOf(taskId);
    await store.createTask(taskId, meta(1));
    assert.equal(await store.markBatchPlanned(taskId, 0), true);
    await store.markChannelStored(taskId, 'only', stored('only'));

    // Before completion every key carries the (longer) active TTL.
    for (const key of [keys.task, keys.channels, keys.plannedBatches]) {
      const pttl = await env.redis.pttl(key);
      assert.ok(pttl > FINISHED_TTL * 1000 && pttl <= ACTIVE_TTL * 1000, `${key} active pttl ${pttl}`);
    }

    await store.claimCompletion(taskId, 'me', 10_000);
    await store.confirmCompletion(taskId);
    for (const key of [keys.task, keys.channels, keys.plannedBatches, keys.completedEvent]) {
      const ttl = await env.redis.ttl(key);
      assert.ok(ttl > FINISHED_TTL - 10 && ttl <= FINISHED_TTL, `${key} finished ttl ${ttl}`);
    }
    assert.equal(await env.redis.get(keys.completedEvent), 'sent');

    // A late redelivery must not make a key live longer than its task.
    await store.markChannelStored(taskId, 'only', stored('only'));
    assert.ok((await env.redis.ttl(keys.channels)) <= FINISHED_TTL);
  });

  void it('keeps subscriptions saved before the task exists, and expires them with the task', async () => {
    const taskId = newTaskId();
    const keys = store.keysOf(taskId);
    assert.equal(await store.getSubscriptions(taskId), null);
    await store.saveSubscriptions(taskId, '[{"url":"https://h.example/"}]');
    assert.equal(await store.getSubscriptions(taskId), '[{"url":"https://h.example/"}]');
    const activePttl = await env.redis.pttl(keys.subscriptions);
    assert.ok(activePttl > FINISHED_TTL * 1000 && activePttl <= ACTIVE_TTL * 1000, `active pttl ${activePttl}`);
    await store.failTask(taskId, { code: 'NOT_A_ZIP', message: 'not a ZIP' });
    const ttl = await env.redis.ttl(keys.subscriptions);
    assert.ok(ttl > FINISHED_TTL - 10 && ttl <= FINISHED_TTL, `finished ttl ${ttl}`);
  });

  void it('confirmCompletion refuses an incomplete task; unknown tasks are reported by name', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(2));
    await store.markChannelStored(taskId, 'one', stored('one'));
    await assert.rejects(store.confirmCompletion(taskId), TaskNotCompleteError);
    assert.equal((await store.getTaskSummary(taskId))?.status, 'running');

    await assert.rejects(store.markChannelStored('ghost', 'x', stored('x')), (error: unknown) => {
      assert.ok(error instanceof TaskNotFoundError);
      assert.match(error.message, /markChannelStored: task "ghost" not found/);
      return true;
    });
    await assert.rejects(store.claimCompletion('ghost', 'me', 1000), TaskNotFoundError);
    await assert.rejects(store.createTask('bad/id', meta(1)), InvalidTaskIdError);
    assert.equal(await env.redis.exists(store.keysOf('ghost').channels), 0, 'no zombie keys for unknown tasks');
  });

  void it('failTask marks the task failed once, applies the TTL, and never overrides a finished task', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(5));
    const error = { code: 'E_MASTER', message: 'master is not a ZIP file' };

    assert.deepEqual(await store.failTask(taskId, error), { firstTime: true, status: 'failed' });
    assert.deepEqual(await store.failTask(taskId, { code: 'E2', message: 'other' }), {
      firstTime: false,
      status: 'failed',
    });
    const summary = await store.getTaskSummary(taskId);
    assert.equal(summary?.status, 'failed');
    assert.deepEqual(summary?.error, error);
    const ttl = await env.redis.ttl(store.keysOf(taskId).task);
    assert.ok(ttl > FINISHED_TTL - 10 && ttl <= FINISHED_TTL, `finished ttl ${ttl}`);

    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claimTaskFailed(taskId, `p${i}`, 10_000)));
    assert.equal(claims.filter((c) => c === 'claimed').length, 1);
    await store.confirmTaskFailed(taskId);
    assert.equal(await store.claimTaskFailed(taskId, 'p0', 10_000), 'already-sent');
    assert.ok((await env.redis.ttl(store.keysOf(taskId).failedEvent)) <= FINISHED_TTL);

    // A task that already completed is not turned into a failure.
    const doneId = newTaskId();
    await store.createTask(doneId, meta(1));
    await store.markChannelStored(doneId, 'x', stored('x'));
    await store.confirmCompletion(doneId);
    assert.deepEqual(await store.failTask(doneId, error), { firstTime: false, status: 'done' });

    // A task rejected before it was ever accepted is still recorded, so its status can be looked up.
    const rejectedId = newTaskId();
    assert.deepEqual(await store.failTask(rejectedId, error), { firstTime: true, status: 'failed' });
    const rejected = await store.getTask(rejectedId);
    assert.equal(rejected?.status, 'failed');
    assert.equal(rejected?.total, 0);
    assert.deepEqual(rejected?.error, error);
  });

  void it('once and markBatchPlanned say true only the first time', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(10, { batches: 3 }));
    const planned = await Promise.all([0, 1, 2, 1, 0, 2, 2].map((i) => store.markBatchPlanned(taskId, i)));
    assert.equal(planned.filter(Boolean).length, 3);
    await assert.rejects(store.markBatchPlanned('ghost', 0), TaskNotFoundError);

    const key = `upload:${taskId}:x`;
    const firsts = await Promise.all(Array.from({ length: 10 }, () => store.once(key, 60)));
    assert.equal(firsts.filter(Boolean).length, 1);
    const ttl = await env.redis.ttl(`${env.prefix}once:${key}`);
    assert.ok(ttl > 50 && ttl <= 60, `once ttl ${ttl}`);
    await store.releaseOnce(key);
    assert.equal(await store.once(key, 60), true);
  });

  void it('reserveTask lets one content through per task id, however many different sends race', async () => {
    const taskId = newTaskId();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.reserveTask(taskId, `fp-${i % 2}`, `{"n":${i}}`)));
    const winner = results.findIndex((r) => r === 'reserved');
    assert.ok(winner >= 0);
    results.forEach((r, i) => assert.equal(r, i % 2 === winner % 2 ? 'reserved' : 'conflict', `send ${i}`));
    await store.createTask(taskId, meta(1, { fingerprint: `fp-${winner % 2}` }));
    assert.equal(await store.reserveTask(taskId, `fp-${winner % 2}`, '{}'), 'same');
    assert.equal(await store.reserveTask(taskId, `fp-${(winner + 1) % 2}`, '{}'), 'conflict');
    const keys = store.keysOf(taskId);
    assert.ok((await env.redis.pttl(keys.fingerprint)) > 0, 'the reservation expires with the task');
  });

  void it('records each channel\'s inputs and the task recipe for the uploader to derive from', async () => {
    const taskId = newTaskId();
    const channels = Array.from({ length: 2500 }, (_, i) => ({ id: `c${i}`, ...(i % 2 ? { extras: { n: String(i) } } : {}) }));
    await store.recordChannelInputs(taskId, channels);
    await store.createTask(taskId, meta(2500, { format: 'walle', naming: '{channel}.apk', extras: { build: '7' }, fingerprint: 'fp' }));
    assert.deepEqual(await store.channelInputs(taskId, 'c0'), {});
    assert.deepEqual(await store.channelInputs(taskId, 'c2499'), { n: '2499' });
    assert.equal(await store.channelInputs(taskId, 'c2500'), null);
    assert.deepEqual(await store.channelInputsOf(taskId, ['c2499', 'c2500', 'c0']), [{ n: '2499' }, null, {}]);
    assert.equal(await env.redis.hlen(store.keysOf(taskId).inputs), 2500);
    const summary = await store.getTaskSummary(taskId);
    assert.deepEqual(
      { format: summary?.format, naming: summary?.naming, extras: summary?.extras, fingerprint: summary?.fingerprint },
      { format: 'walle', naming: '{channel}.apk', extras: { build: '7' }, fingerprint: 'fp' },
    );
    await store.markChannelStored(taskId, 'c0', stored('c0'));
    await store.failTask(taskId, { code: 'X', message: 'stop' });
    assert.ok((await env.redis.ttl(store.keysOf(taskId).inputs)) <= FINISHED_TTL, 'inputs take the finished TTL with the task');
  });

  void it('tracks progress: quiet running tasks are found, a stall is marked once, progress ends it, finishing forgets it', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(2));
    const quiet = async (): Promise<string[]> => (await store.quietTasks(0, 10_000)).map((t) => t.taskId);
    assert.ok((await quiet()).includes(taskId));
    assert.ok(!(await store.quietTasks(3_600_000, 10_000)).some((t) => t.taskId === taskId), 'not quiet for an hour');
    assert.equal(await store.markStalled(taskId), 'marked');
    assert.equal(await store.markStalled(taskId), 'already');
    assert.ok((await store.getTaskSummary(taskId))?.stalledAt);
    await store.markChannelStored(taskId, 'a', stored('a'));
    assert.equal((await store.getTaskSummary(taskId))?.stalledAt, undefined, 'progress ends the stall');
    assert.equal(await store.markStalled(taskId), 'marked', 'a later stall is reported again');
    await store.markChannelStored(taskId, 'b', stored('b'));
    await store.confirmCompletion(taskId);
    assert.ok(!(await quiet()).includes(taskId), 'a finished task leaves the index');
    assert.equal(await store.markStalled(taskId), 'finished');
  });

  void it('a running task whose keys vanished is found quiet and reported as having no state', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(1));
    await env.redis.del(store.keysOf(taskId).task);
    assert.ok((await store.quietTasks(0, 10_000)).some((t) => t.taskId === taskId));
    assert.equal(await store.markStalled(taskId), 'no-task');
    assert.ok(!(await store.quietTasks(0, 10_000)).some((t) => t.taskId === taskId), 'and it leaves the index');
  });

  void it('resetForRetry starts the next run of a partial task: progress and event guards cleared, recipe kept, active TTL again', async () => {
    const taskId = newTaskId();
    const keys = store.keysOf(taskId);
    assert.equal(await store.reserveTask(taskId, 'fp-r', '{"taskId":"r"}'), 'reserved');
    await store.recordChannelInputs(taskId, [{ id: 'a' }, { id: 'b', extras: { k: 'v' } }]);
    await store.saveSubscriptions(taskId, '[]');
    await store.createTask(taskId, meta(2, { fingerprint: 'fp-r', format: 'walle', naming: '{channel}.apk', extras: {} }));
    await store.claimAccepted(taskId, 'p', 10_000);
    await store.confirmAccepted(taskId);
    await store.markBatchPlanned(taskId, 0);
    await store.markChannelStored(taskId, 'a', stored('a'));
    await store.claimChannelStored(taskId, 'a', 'u', 10_000);
    await store.confirmChannelStored(taskId, 'a');
    await store.markChannelFailed(taskId, 'b', { code: 'PARKED', message: 'target refused' });
    assert.equal(await store.claimCompletion(taskId, 'u', 10_000), 'claimed');
    assert.equal((await store.confirmCompletion(taskId)).status, 'partial');
    assert.ok((await env.redis.ttl(keys.content)) <= FINISHED_TTL, 'the content expires with the finished task');

    const reset = await store.resetForRetry(taskId);
    assert.deepEqual(reset, { outcome: 'reset', attempt: 2, previous: 'partial' });
    const after = await store.getTask(taskId);
    assert.deepEqual(
      { status: after?.status, attempt: after?.attempt, done: after?.done, kept: after?.kept, failed: after?.failed, channels: after?.channels, finishedAt: after?.finishedAt },
      { status: 'pending', attempt: 2, done: 0, kept: 0, failed: 0, channels: {}, finishedAt: undefined },
    );
    assert.deepEqual({ total: after?.total, fingerprint: after?.fingerprint, naming: after?.naming }, { total: 2, fingerprint: 'fp-r', naming: '{channel}.apk' });
    assert.deepEqual(await store.channelInputsOf(taskId, ['a', 'b']), [{}, { k: 'v' }]);
    assert.equal(await store.taskContent(taskId), '{"taskId":"r"}');
    assert.equal(await store.getSubscriptions(taskId), '[]');
    assert.equal((await store.plannedBatches(taskId)).size, 0);
    // Every once-only event of the new run can be sent again, once.
    assert.equal(await store.claimAccepted(taskId, 'p2', 10_000), 'claimed');
    assert.equal(await store.claimChannelStored(taskId, 'a', 'u2', 10_000), 'claimed');
    assert.equal(await store.claimCompletion(taskId, 'u2', 10_000), 'claimed');
    assert.equal(await store.claimTaskFailed(taskId, 'u2', 10_000), 'claimed');
    for (const key of [keys.task, keys.inputs, keys.fingerprint, keys.content, keys.subscriptions]) {
      const ttl = await env.redis.ttl(key);
      assert.ok(ttl > FINISHED_TTL && ttl <= ACTIVE_TTL, `${key} has the active TTL again: ${ttl}`);
    }
    assert.ok((await store.quietTasks(0, 10_000)).some((t) => t.taskId === taskId), 'the new run is watched for stalls');

    // A running run is not reset again.
    assert.deepEqual(await store.resetForRetry(taskId), { outcome: 'running', status: 'pending' });
    await store.markChannelStored(taskId, 'a', { ...stored('a'), kept: true });
    assert.deepEqual(await store.resetForRetry(taskId), { outcome: 'running', status: 'running' });
    await store.markChannelStored(taskId, 'b', stored('b'));
    await store.confirmCompletion(taskId);
    assert.deepEqual(await store.resetForRetry(taskId), { outcome: 'done' });
    assert.equal((await store.getTaskSummary(taskId))?.attempt, 2, 'a refused reset changes nothing');
    assert.deepEqual(await store.resetForRetry(newTaskId()), { outcome: 'no-task' });
  });

  void it('resetForRetry of a task that failed before it was accepted leaves a record the next acceptance fills in', async () => {
    const taskId = newTaskId();
    assert.equal(await store.reserveTask(taskId, 'fp-m', '{"taskId":"m"}'), 'reserved');
    await store.failTask(taskId, { code: 'MASTER', message: 'master missing' });
    const reset = await store.resetForRetry(taskId);
    assert.deepEqual(reset, { outcome: 'reset', attempt: 2, previous: 'failed' });
    const pending = await store.getTaskSummary(taskId);
    assert.deepEqual({ status: pending?.status, total: pending?.total, error: pending?.error }, { status: 'pending', total: 0, error: undefined });
    assert.equal(await store.reserveTask(taskId, 'fp-other', '{}'), 'conflict', 'the reservation still holds for the same content only');
    assert.equal(await store.reserveTask(taskId, 'fp-m', '{"taskId":"m"}'), 'reserved');
    const created = await store.createTask(taskId, meta(3, { fingerprint: 'fp-m' }));
    assert.equal(created.created, true);
    assert.deepEqual({ status: created.state.status, total: created.state.total, attempt: created.state.attempt }, { status: 'pending', total: 3, attempt: 2 });
    assert.equal((await store.createTask(taskId, meta(9))).created, false, 'a filled-in record is not filled again');

    // Without recorded content a retry cannot run it again, unless the caller brings the content (a parked message).
    const bare = newTaskId();
    await store.failTask(bare, { code: 'INVALID', message: 'bad task' });
    assert.deepEqual(await store.resetForRetry(bare), { outcome: 'no-content' });
    assert.equal((await store.getTaskSummary(bare))?.status, 'failed');
    assert.deepEqual(await store.resetForRetry(bare, { requireContent: false }), { outcome: 'reset', attempt: 2, previous: 'failed' });
  });
});

void describe('TaskStore waiting for replicas', () => {
  // The test Redis is a primary without replicas: what a primary left alone after a failover looks like.
  let env: TestRedis;
  before(() => {
    env = openTestRedis();
  });
  after(async () => {
    await env.cleanup();
  });

  const waitCalls = async (): Promise<number> => {
    const stats = await env.redis.info('commandstats');
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  };

  void it('a primary without replicas carries on alone, and does not block each write in WAIT to find that out', async () => {
    const store = new TaskStore(env.redis, { keyPrefix: env.prefix, replicas: 1, replicationTimeoutMs: 200 });
    const before = await waitCalls();
    const taskId = 'alone';
    await store.createTask(taskId, meta(20));
    for (let i = 0; i < 20; i++) await store.markChannelStored(taskId, `c${i}`, stored(`c${i}`));
    assert.equal((await store.getTaskSummary(taskId))?.done, 20, 'every write went through');
    const waits = (await waitCalls()) - before;
    // One WAIT finds no replica; ROLE (which does not block) then checks again at most once a second.
    assert.ok(waits >= 1 && waits <= 2, `${waits} WAIT calls for 21 writes`);
  });
});

function pick(r: ChannelMarkResult): Pick<ChannelMarkResult, 'firstTime' | 'replacedFailure' | 'done' | 'failed' | 'complete'> {
  return { firstTime: r.firstTime, replacedFailure: r.replacedFailure, done: r.done, failed: r.failed, complete: r.complete };
}

void describe('TaskStore cancelling', () => {
  let env: TestRedis;
  let store: TaskStore;
  let counter = 0;
  const newTaskId = (): string => `cancel-${++counter}`;

  before(() => {
    env = openTestRedis();
    store = new TaskStore(env.redis, { keyPrefix: env.prefix, finishedTtlSeconds: FINISHED_TTL, activeTtlSeconds: ACTIVE_TTL });
  });
  after(async () => {
    await env.cleanup();
  });

  void it('cancels a running task once, keeps what was stored, and records nothing more', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(4));
    await store.markChannelStored(taskId, 'a', stored('a'));
    await store.markChannelFailed(taskId, 'b', { code: 'X', message: 'x' });

    const first = await store.cancelTask(taskId, { by: 'ops@example.com', reason: 'wrong build' });
    assert.deepEqual(first, { outcome: 'cancelled', status: 'cancelled', done: 1, failed: 1, total: 4 });
    const task = await store.getTask(taskId);
    assert.equal(task?.status, 'cancelled');
    assert.ok(task?.finishedAt, 'a cancelled task is finished');
    assert.deepEqual({ by: task?.cancelledBy, reason: task?.cancelReason }, { by: 'ops@example.com', reason: 'wrong build' });
    assert.deepEqual(Object.keys(task?.channels ?? {}).sort(), ['a', 'b'], 'channels already recorded keep their records');
    const ttl = await env.redis.ttl(store.keysOf(taskId).task);
    assert.ok(ttl > 0 && ttl <= FINISHED_TTL, `the finished TTL applies: ${ttl}`);
    assert.ok(!(await store.quietTasks(0, 10_000)).some((t) => t.taskId === taskId), 'no longer watched for stalls');

    assert.deepEqual(await store.cancelTask(taskId), { outcome: 'already-cancelled', status: 'cancelled', done: 1, failed: 1, total: 4 });

    const late = await store.markChannelStored(taskId, 'c', stored('c'));
    assert.deepEqual({ ...pick(late), status: late.status, channelStatus: late.channelStatus }, {
      firstTime: false,
      replacedFailure: false,
      done: 1,
      failed: 1,
      complete: false,
      status: 'cancelled',
      channelStatus: null,
    });
    await store.markChannelFailed(taskId, 'd', { code: 'X', message: 'x' });
    await store.markChannelStored(taskId, 'b', stored('b'));
    const again = await store.markChannelStored(taskId, 'a', stored('a'));
    assert.equal(again.channelStatus, 'stored', 'a channel stored before the cancel still says so');
    const after = await store.getTask(taskId);
    assert.deepEqual({ done: after?.done, failed: after?.failed, status: after?.status }, { done: 1, failed: 1, status: 'cancelled' });
    assert.deepEqual(Object.keys(after?.channels ?? {}).sort(), ['a', 'b']);
    assert.equal(after?.channels.b?.status, 'failed', 'a replay after the cancel replaces no failure');
    assert.ok((await store.quietTasks(0, 10_000)).every((t) => t.taskId !== taskId), 'a late mark does not bring it back among active tasks');
  });

  void it('a cancelled task never completes or fails, and a stall mark leaves it alone', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(2));
    await store.cancelTask(taskId);
    assert.deepEqual(await store.failTask(taskId, { code: 'PARKED', message: 'parked' }), { firstTime: false, status: 'cancelled' });
    assert.deepEqual(await store.confirmCompletion(taskId), { status: 'cancelled', done: 0, failed: 0, total: 2 });
    assert.equal(await store.completionAnnounced(taskId), false);
    assert.equal(await store.markStalled(taskId), 'finished');
    assert.equal((await store.getTaskSummary(taskId))?.status, 'cancelled');
  });

  void it('leaves finished and completing tasks alone, and says when there is no task', async () => {
    assert.deepEqual(await store.cancelTask(newTaskId()), { outcome: 'no-task' });

    const done = newTaskId();
    await store.createTask(done, meta(1));
    await store.markChannelStored(done, 'a', stored('a'));
    // Every channel is accounted for but task.completed is not confirmed yet: the completion is under way.
    assert.deepEqual(await store.cancelTask(done), { outcome: 'completing', status: 'running', done: 1, failed: 0, total: 1 });
    await store.confirmCompletion(done);
    assert.deepEqual(await store.cancelTask(done), { outcome: 'finished', status: 'done', done: 1, failed: 0, total: 1 });

    const failed = newTaskId();
    await store.failTask(failed, { code: 'NOT_A_ZIP', message: 'bad' });
    assert.deepEqual(await store.cancelTask(failed), { outcome: 'finished', status: 'failed', done: 0, failed: 0, total: 0 });
    assert.equal((await store.getTaskSummary(failed))?.status, 'failed');
  });

  void it('records the outcome of a write under way when the cancel came, and refuses new writes', async () => {
    const taskId = newTaskId();
    await store.createTask(taskId, meta(3));
    assert.equal(await store.beginChannelWrite(taskId, 'a', 60_000), 'go');
    assert.equal(await store.beginChannelWrite(taskId, 'b', 60_000), 'go');
    assert.equal(await store.writesUnderWay(taskId), 2);
    await store.cancelTask(taskId);
    assert.equal(await store.beginChannelWrite(taskId, 'c', 60_000), 'cancelled');
    assert.equal(await store.beginChannelWrite(newTaskId(), 'c', 60_000), 'no-task');

    const mark = await store.markChannelStored(taskId, 'a', stored('a'));
    assert.deepEqual({ firstTime: mark.firstTime, done: mark.done, status: mark.status, channelStatus: mark.channelStatus }, { firstTime: true, done: 1, status: 'cancelled', channelStatus: 'stored' });
    assert.equal(await store.writesUnderWay(taskId), 1);
    await store.endChannelWrite(taskId, 'b');
    assert.equal(await store.writesUnderWay(taskId), 0);
    assert.equal((await store.markChannelStored(taskId, 'b', stored('b'))).firstTime, false, 'an ended write is not recorded');
    assert.equal((await store.getTaskSummary(taskId))?.status, 'cancelled');

    // A writer that never comes back is given up on: its write is not recorded either.
    const other = newTaskId();
    await store.createTask(other, meta(2));
    await store.beginChannelWrite(other, 'a', 60_000);
    await store.cancelTask(other);
    await store.abandonChannelWrites(other);
    assert.equal(await store.writesUnderWay(other), 0);
    assert.equal((await store.markChannelStored(other, 'a', stored('a'))).firstTime, false);

    // An expired lease counts as ended.
    const expired = newTaskId();
    await store.createTask(expired, meta(2));
    await store.beginChannelWrite(expired, 'a', 1);
    await sleep(5);
    assert.equal(await store.writesUnderWay(expired), 0);
  });

  void it('only an explicit retry runs a cancelled task again', async () => {
    const taskId = newTaskId();
    assert.equal(await store.reserveTask(taskId, 'fp', '{"taskId":"c"}'), 'reserved');
    await store.createTask(taskId, meta(2, { fingerprint: 'fp' }));
    await store.markChannelStored(taskId, 'a', stored('a'));
    await store.cancelTask(taskId, { by: 'ops', reason: 'stop' });
    await store.claimTaskCancelled(taskId, 'x', 10_000);
    await store.confirmTaskCancelled(taskId);

    assert.deepEqual(await store.resetForRetry(taskId), { outcome: 'cancelled' });
    assert.deepEqual(await store.resetForRetry(taskId, { requireContent: false }), { outcome: 'cancelled' });
    assert.equal((await store.getTaskSummary(taskId))?.status, 'cancelled');

    assert.deepEqual(await store.resetForRetry(taskId, { allowCancelled: true }), { outcome: 'reset', attempt: 2, previous: 'cancelled' });
    const run = await store.getTaskSummary(taskId);
    assert.deepEqual(
      { status: run?.status, done: run?.done, by: run?.cancelledBy, reason: run?.cancelReason, finishedAt: run?.finishedAt },
      { status: 'pending', done: 0, by: undefined, reason: undefined, finishedAt: undefined },
    );
    assert.equal(await store.claimTaskCancelled(taskId, 'y', 10_000), 'claimed', 'the new run can be cancelled and announced again');
    assert.equal((await store.markChannelStored(taskId, 'a', stored('a'))).firstTime, true, 'the new run records channels');
  });
});

void describe('TaskStore task index', () => {
  let env: TestRedis;
  let store: TaskStore;

  before(() => {
    env = openTestRedis();
    store = new TaskStore(env.redis, { keyPrefix: env.prefix, finishedTtlSeconds: FINISHED_TTL, activeTtlSeconds: ACTIVE_TTL });
  });
  after(async () => {
    await env.cleanup();
  });

  void it('lists tasks newest first by pages, drops expired ones, and never splits equal scores across pages', async () => {
    const ids = ['t1', 't2', 't3', 't4', 't5'];
    for (const id of ids) {
      await store.createTask(id, meta(1));
      await sleep(3);
    }
    await store.failTask('t6', { code: 'INVALID', message: 'refused before acceptance' });
    const created = await store.createTask('t1', meta(1));
    assert.equal(created.created, false);

    const all = await store.listTaskIds({ limit: 100 });
    assert.deepEqual(all.tasks.map((t) => t.taskId), ['t6', 't5', 't4', 't3', 't2', 't1']);
    assert.equal(all.nextBefore, null);
    assert.equal(all.tasks.find((t) => t.taskId === 't3')?.score, Date.parse((await store.getTaskSummary('t3'))!.createdAt));

    const first = await store.listTaskIds({ limit: 2 });
    assert.deepEqual(first.tasks.map((t) => t.taskId), ['t6', 't5']);
    assert.ok(first.nextBefore !== null);
    const second = await store.listTaskIds({ limit: 2, before: first.nextBefore });
    assert.deepEqual(second.tasks.map((t) => t.taskId), ['t4', 't3']);

    // t3 and t2 expired (finished TTL): the page is filled from older tasks and the index forgets them.
    await env.redis.del(store.keysOf('t3').task, store.keysOf('t2').task);
    const refilled = await store.listTaskIds({ limit: 2, before: first.nextBefore });
    assert.deepEqual(refilled.tasks.map((t) => t.taskId), ['t4', 't1']);
    assert.deepEqual((await store.listTaskIds({ limit: 100 })).tasks.map((t) => t.taskId), ['t6', 't5', 't4', 't1']);
    assert.equal(await env.redis.zscore(`${env.prefix}tasks`, 't3'), null);

    // Equal scores at a page's edge come whole.
    const score = 1_000;
    await env.redis.zadd(`${env.prefix}tasks`, score, 'tie-a', score, 'tie-b', score, 'tie-c');
    for (const id of ['tie-a', 'tie-b', 'tie-c']) await store.createTask(id, meta(1));
    await env.redis.zadd(`${env.prefix}tasks`, score, 'tie-a', score, 'tie-b', score, 'tie-c');
    const ties = await store.listTaskIds({ limit: 1, before: score + 1 });
    assert.deepEqual(ties.tasks.map((t) => t.taskId).sort(), ['tie-a', 'tie-b', 'tie-c']);
  });
});
