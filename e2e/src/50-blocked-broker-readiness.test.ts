// A RabbitMQ node of this file's own (port 5641) whose memory watermark the test lowers with rabbitmqctl:
// the node raises a memory alarm and blocks the connections that publish (connection.blocked). A service's readiness
// turns 503 naming the alarm as soon as its connection is blocked, and 200 again once the alarm clears
// (connection.unblocked); the work it held finishes. The shared broker is never touched.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, fileTargetUrl, fileUrl, onOwnEngines, packTask, uniqueTaskId, waitFor } from './harness';

const engines = onOwnEngines('blocked', { broker: { ports: [5641], distBase: 25641, prefix: 'subpack-e2e-blocked-' } });

test('readiness is 503 naming the alarm while the broker blocks the connection, 200 again once it is lifted', { timeout: 300_000 }, async () => {
  const s = engines.stack;
  const c = engines.broker;
  const node = c.nodes[0]!;
  const master = await standardApk('v1v2v3');
  const targetDir = join(s.workDir, 'out');
  await mkdir(targetDir);

  // The first packer declares the topology; with it stopped, a task waits in its queue for the next one.
  const first = await s.start('packer', {}, 120_000);
  await first.stop();
  const tap = await s.eventTap();
  const taskId = uniqueTaskId('blocked');
  await s.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(3) }));

  await c.ctl(node, ['-q', 'set_vm_memory_high_watermark', 'absolute', '1MB']);
  const packer = await s.launch('packer');
  // Consuming is allowed during an alarm; the packer's first publish for the task makes the broker block it.
  let last: { status: number; body: string } | undefined;
  await waitFor('readiness 503 naming the memory alarm', async () => {
    last = await packer.get('/health/ready');
    return last?.status === 503 && last.body.includes('low on memory');
  }, { timeoutMs: 120_000, intervalMs: 200, detail: () => `last /health/ready: ${JSON.stringify(last)}\n${packer.outputTail()}\n${c.outputs()}` });
  const down = JSON.parse(last!.body) as { error?: Record<string, { status: string; message?: string }> };
  assert.equal(down.error?.rabbitmq?.status, 'down', last!.body);
  assert.equal(down.error?.rabbitmq?.message, 'the broker blocks this connection: low on memory (a memory or disk alarm)');
  const blockedLines = packer.logRecords().filter((r) => r.reason === 'low on memory' && r['log.level'] === 'warn');
  assert.equal(blockedLines.length, 1, `one warning line names the alarm\n${packer.outputTail()}`);
  assert.equal(tap.messages.length, 0, 'nothing the blocked packer published got through');

  await c.ctl(node, ['-q', 'set_vm_memory_high_watermark', '0.4']);
  await waitFor('readiness 200 after connection.unblocked', async () => (last = await packer.get('/health/ready'))?.status === 200, {
    timeoutMs: 60_000,
    intervalMs: 200,
    detail: () => `last /health/ready: ${JSON.stringify(last)}\n${packer.outputTail()}`,
  });
  assert.ok(packer.logRecords().some((r) => r.message === 'RabbitMQ unblocked the connection'), 'the unblock is logged');
  // What the packer held while blocked goes out once the alarm is lifted.
  await s.waitForEvent(tap, taskId, 'task.accepted', 60_000);
  assert.ok(packer.running, packer.outputTail());
});
