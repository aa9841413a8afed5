// A task whose master does not exist is bad input: parked at once with the reason, never retried, task failed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { channelIds, delay, eventsFor, headerNumber, headerText, peekQueue, stackPerFile, subpackJsonLines } from './harness';

const stack = stackPerFile('nomaster', { retryTiers: '1s,2s' });

test('a missing master is parked with its path in the reason, attempt 1, no retry; task failed', { timeout: 120_000 }, async () => {
  await stack.startPipeline();
  const tap = await stack.eventTap();
  const retried = await stack.retrySpy();
  const parked = await stack.parkedSpy();

  const missing = join(stack.workDir, 'no-such-dir', 'missing-master.apk');
  const taskId = await stack.sendTask({ label: 'nomaster', master: missing, target: join(stack.workDir, 'out'), channels: channelIds(3) });

  const [failed] = await stack.waitForEvent(tap, taskId, 'task.failed', 60_000);
  await parked.waitFor('the task in the parking lot', (m) => m.length >= 1, 30_000, () => stack.describe(tap));
  // Longer than the first tier: a retried message would have gone through subpack.retry.1s by now.
  await delay(2500);

  assert.equal(parked.messages.length, 1, 'one parked message');
  const message = parked.messages[0]!;
  assert.equal((message.json as { taskId?: string }).taskId, taskId, 'the parked message is the task');
  const reason = headerText(message, 'x-subpack-error');
  assert.ok(reason.includes(missing), `x-subpack-error names the missing path ${missing}: ${JSON.stringify(reason)}`);
  assert.equal(headerNumber(message, 'x-subpack-attempt'), 1, `x-subpack-attempt: ${headerText(message, 'x-subpack-attempt')}`);
  assert.equal(message.headers['x-subpack-error-class'], 'permanent');

  assert.equal(retried.messages.length, 0, `no message went through a retry tier: ${retried.messages.map((m) => JSON.stringify(m.headers)).join('; ')}`);
  for (const tier of ['1s', '2s']) assert.equal(await stack.queueMessageCount(`subpack.retry.${tier}`), 0, `subpack.retry.${tier} is empty`);

  // The real parking lot keeps it (the spy only saw a copy).
  const lot = await peekQueue(stack.amqpUrl, 'subpack.parked');
  assert.equal(lot.length, 1, 'subpack.parked holds the task');
  const listed = (await subpackJsonLines(['parked', 'list'], stack.env)) as { reason?: string; attempt?: number; routingKey?: string }[];
  assert.equal(listed.length, 1, `subpack parked list shows the task: ${JSON.stringify(listed)}`);
  assert.ok(listed[0]!.reason?.includes(missing), `parked list gives the reason: ${JSON.stringify(listed[0])}`);
  assert.equal(listed[0]!.attempt, 1);
  assert.equal(listed[0]!.routingKey, 'task.pack');

  assert.equal(eventsFor(tap.messages, taskId, 'task.failed').length, 1, 'exactly one task.failed event');
  assert.ok(failed!.event.error?.message?.includes(missing), `task.failed names the path: ${JSON.stringify(failed!.event.error)}`);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 0, 'no task.completed');

  const status = await stack.status(taskId);
  assert.equal(status.status, 'failed', `status: ${JSON.stringify(status)}`);
  assert.ok(status.error?.message?.includes(missing), `status carries the reason: ${JSON.stringify(status)}`);
});
