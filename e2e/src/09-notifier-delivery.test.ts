// Delivery guarantees of the notifier on the real broker: a receiver answering 500 for a while gets each event once it
// recovers (retried with the tiers' backoff), a 1,000-channel task stays under the documented request bound, and a
// kill -9 mid-delivery loses nothing.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import {
  channelIds,
  E2eStack,
  eventsFor,
  fileTargetUrl,
  fileUrl,
  packTask,
  publishManyJson,
  uniqueTaskId,
  WebhookReceiver,
  type ReceivedRequest,
} from './harness';

const SECRET = 'whsec_' + Buffer.from('delivery-test-key').toString('base64');

interface JsonBody {
  id: string;
  type: string;
  data: { events?: { id: string }[] };
}

/** Event ids inside the accepted json requests, batches unpacked. */
function deliveredEventIds(requests: readonly ReceivedRequest[]): string[] {
  return requests.flatMap((request) => {
    const body = JSON.parse(request.body) as JsonBody;
    return body.type === 'batch' ? (body.data.events ?? []).map((event) => event.id) : [body.id];
  });
}

function notifierEnv(receiver: WebhookReceiver, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
    SUBPACK_NOTIFY_SUBSCRIPTIONS: JSON.stringify([{ url: receiver.url('/hook'), level: 'info', secret: SECRET }]),
    ...extra,
  };
}

function completedEvent(taskId: string): { routingKey: string; body: unknown } {
  return {
    routingKey: 'event.task.completed',
    body: { type: 'task.completed', taskId, status: 'done', total: 1, done: 1, failed: 0, at: new Date().toISOString() },
  };
}

function storedEvent(taskId: string, channel: string): { routingKey: string; body: unknown } {
  return {
    routingKey: 'event.channel.stored',
    body: { type: 'channel.stored', taskId, channel, url: `file:///srv/out/${channel}.apk`, bytes: 1024, md5: 'a'.repeat(32), sha256: 'b'.repeat(64), at: new Date().toISOString() },
  };
}

async function withStack(label: string, work: (stack: E2eStack) => Promise<void>): Promise<void> {
  const stack = await E2eStack.create(label, { retryTiers: '1s,2s', maxAttempts: 5 });
  try {
    await work(stack);
  } finally {
    await stack.cleanup();
  }
}

test('a receiver answering 500 for a while is retried with backoff, then gets each event exactly once', { timeout: 90_000 }, async () => {
  const receiver = await WebhookReceiver.start((_request, self) => ({ status: self.requests.length <= 4 ? 500 : 200 }));
  try {
    await withStack('notify-500', async (stack) => {
      await Promise.all([stack.start('retry-scheduler'), stack.start('notifier', notifierEnv(receiver))]);
      const tap = await stack.eventTap();
      const parked = await stack.parkedSpy();
      const [a, b] = [uniqueTaskId('flaky-a'), uniqueTaskId('flaky-b')];
      await publishManyJson(stack.amqpUrl, [
        completedEvent(a),
        { routingKey: 'event.task.failed', body: { type: 'task.failed', taskId: b, error: { code: 'NOT_A_ZIP', message: 'not a ZIP' }, at: new Date().toISOString() } },
      ]);
      const expected = [`task.completed:${a}`, `task.failed:${b}`];
      await receiver.waitFor('both events accepted', () => expected.every((id) => deliveredEventIds(receiver.accepted()).includes(id)), 60_000, () => stack.outputs());
      await new Promise((resolve) => setTimeout(resolve, 3000)); // a duplicate would arrive within the longest tier

      const accepted = deliveredEventIds(receiver.accepted());
      assert.deepEqual([...accepted].sort(), expected.sort(), 'each event accepted exactly once');
      for (const id of expected) {
        const attempts = receiver.requests.filter((request) => (JSON.parse(request.body) as JsonBody).id === id);
        const webhookIds = new Set(attempts.map((request) => request.headers['webhook-id']));
        assert.equal(webhookIds.size, 1, `${id}: every attempt carries the same webhook-id`);
        assert.deepEqual(attempts.map((request) => request.status), [500, 500, 200], `${id}: failed twice, then delivered`);
        const gaps = attempts.slice(1).map((request, index) => request.receivedAt - attempts[index]!.receivedAt);
        assert.ok(gaps[0]! >= 900 && gaps[1]! >= 1900, `${id}: waited in the 1s, then the 2s tier (gaps ${gaps.join(', ')} ms)`);
      }
      assert.equal(parked.messages.length, 0, 'nothing parked');
      assert.equal(tap.messages.filter((m) => m.routingKey === 'event.notify.failed').length, 0, 'no notify.failed');
    });
  } finally {
    await receiver.close();
  }
});

test('a 1,000-channel task: json requests stay under the documented bound, a robot gets one message', { timeout: 600_000 }, async (t) => {
  const receiver = await WebhookReceiver.start((request) => ({ status: 200, body: request.path === '/robot' ? '{"errcode":0}' : '{}' }));
  try {
    await withStack('notify-1000', async (stack) => {
      const master = await standardApk('v1v2v3');
      const targetDir = join(stack.workDir, 'target');
      await mkdir(targetDir);
      await Promise.all([
        stack.start('packer', { SUBPACK_BATCH_SIZE: '100' }),
        stack.start('uploader', { SUBPACK_PREFETCH: '16' }),
        stack.start('retry-scheduler'),
        stack.start('notifier', { SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1' }),
      ]);
      const tap = await stack.eventTap();
      const taskId = uniqueTaskId('thousand');
      const channels = channelIds(1000);
      await stack.publishTask(
        packTask({
          taskId,
          master: fileUrl(master),
          target: fileTargetUrl(targetDir),
          channels,
          notify: [
            { url: receiver.url('/hook'), level: 'info', secret: SECRET },
            { url: `${receiver.url('/robot')}?access_token=t`, format: 'dingtalk', level: 'info' },
          ],
        }),
      );
      await stack.waitForEvent(tap, taskId, 'task.completed', 500_000);
      await receiver.waitFor('task.completed at both receivers', (requests) => requests.filter((r) => r.body.includes('task.completed') || r.body.includes(': done')).length >= 2, 30_000);

      const hook = receiver.accepted('/hook');
      const ids = deliveredEventIds(hook);
      const storedIds = new Set(ids.filter((id) => id.startsWith('channel.stored:')));
      assert.equal(storedIds.size, 1000, 'every channel.stored event was delivered');
      // The README's bound: 2 task events + ceil(N / batch max) + one more batch per window the channel events span.
      const stored = eventsFor(tap.messages, taskId, 'channel.stored');
      const spanMs = stored[stored.length - 1]!.receivedAt - stored[0]!.receivedAt;
      const bound = 2 + Math.ceil(1000 / 100) + Math.ceil(spanMs / 2000) + 1;
      assert.ok(hook.length <= bound, `${hook.length} json requests for 1,002 events; bound ${bound} (channel events spanned ${spanMs} ms)`);
      const robot = receiver.accepted('/robot');
      assert.equal(robot.length, 1, 'the robot got one message: the outcome');
      assert.match(robot[0]!.body, /1000 stored, 0 failed, 1000 in all/);
      t.diagnostic(`${hook.length} json requests (bound ${bound}) and ${robot.length} robot message for a 1,000-channel task; channel events spanned ${spanMs} ms`);
    });
  } finally {
    await receiver.close();
  }
});

test('kill -9 of the notifier mid-delivery: after a restart every event is delivered at least once, nothing parked', { timeout: 120_000 }, async (t) => {
  const receiver = await WebhookReceiver.start(() => ({ status: 200, delayMs: 150 }));
  try {
    await withStack('notify-kill9', async (stack) => {
      const env = notifierEnv(receiver, { SUBPACK_NOTIFY_BATCH_MAX: '50', SUBPACK_NOTIFY_BATCH_WINDOW_MS: '1000' });
      const [, notifier] = await Promise.all([stack.start('retry-scheduler'), stack.start('notifier', env)]);
      const tap = await stack.eventTap();
      const parked = await stack.parkedSpy();
      const tasks = Array.from({ length: 80 }, (_, index) => uniqueTaskId(`k${index}`));
      const bigTask = uniqueTaskId('k9-channels');
      const channels = channelIds(300);
      await publishManyJson(stack.amqpUrl, [...tasks.map(completedEvent), ...channels.map((channel) => storedEvent(bigTask, channel))]);
      const expected = [...tasks.map((id) => `task.completed:${id}`), ...channels.map((channel) => `channel.stored:${bigTask}:${channel}`)];

      await receiver.waitFor('20 deliveries before the kill', (requests) => requests.length >= 20, 30_000, () => stack.outputs());
      await notifier.kill();
      const deliveredAtKill = new Set(deliveredEventIds(receiver.accepted())).size;
      assert.ok(deliveredAtKill < expected.length, `the kill happened mid-delivery (${deliveredAtKill} of ${expected.length} delivered)`);

      await stack.start('notifier', env);
      await receiver.waitFor('every event delivered', () => {
        const delivered = new Set(deliveredEventIds(receiver.accepted()));
        return expected.every((id) => delivered.has(id));
      }, 90_000, () => stack.outputs());
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(parked.messages.length, 0, 'nothing parked');
      assert.equal(tap.messages.filter((m) => m.routingKey === 'event.notify.failed').length, 0, 'no notify.failed');
      const all = deliveredEventIds(receiver.accepted());
      t.diagnostic(`${deliveredAtKill} events delivered before the kill; ${all.length} deliveries of ${expected.length} events in all (${all.length - expected.length} repeated after the restart)`);
    });
  } finally {
    await receiver.close();
  }
});
