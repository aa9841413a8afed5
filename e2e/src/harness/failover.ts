import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { standardApk } from '@subpack/testing';
import { listTarget } from './apk-checks';
import { eventsFor, storedChannels } from './events';
import type { QueueSpy } from './queue-spy';
import type { ServiceProcess } from './service-process';
import type { E2eStack } from './stack';
import { fileTargetUrl, fileUrl } from './paths';
import { channelIds, packTask, uniqueTaskId } from './tasks';
import { waitFor } from './wait';

/** The label `label` of the sample of `metric` that is 1 (e.g. the node a service uses now), from its /metrics. */
export async function activeLabel(service: ServiceProcess, metric: string, label: string): Promise<string | undefined> {
  const response = await service.get('/metrics');
  if (response?.status !== 200) return undefined;
  for (const line of response.body.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const value = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1];
    if (value !== undefined && /\}\s+1$/.test(line)) return value;
  }
  return undefined;
}

export interface FailoverRun {
  readonly taskId: string;
  readonly channels: readonly string[];
  readonly targetDir: string;
  readonly tap: QueueSpy;
  /** The task as it was published. */
  readonly task: Record<string, unknown>;
}

/** Publishes a task of `count` channels of the small signed APK, and waits until `startedAt` of them are stored. */
export async function startFailoverTask(stack: E2eStack, count: number, startedAt: number): Promise<FailoverRun> {
  const master = await standardApk('v2Only');
  const targetDir = join(stack.workDir, 'target');
  await mkdir(targetDir, { recursive: true });
  const tap = await stack.eventTap();
  const taskId = uniqueTaskId('failover');
  const channels = channelIds(count);
  const task = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels });
  await stack.publishTask(task);
  await tap.waitFor(`${startedAt} channels stored`, (m) => storedChannels(m, taskId).size >= startedAt, 300_000, () => stack.describe(tap));
  return { taskId, channels, targetDir, tap, task };
}

/**
 * Waits for the task to complete, then checks what a failover must not break: every channel stored once (one file
 * each in the target, one channel.stored each), exactly one task.completed, and the state in Redis says done.
 */
export async function assertCompletedOnce(stack: E2eStack, run: FailoverRun, timeoutMs: number): Promise<void> {
  const { taskId, channels, tap } = run;
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', timeoutMs);
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), [...channels]);
  // Work redelivered after a failover announces its channel again under the same message id (consumers dedupe on it):
  // a second id would mean a second store.
  const idsPerChannel = new Map<string, Set<string | undefined>>();
  for (const { event, messageId } of eventsFor(tap.messages, taskId, 'channel.stored')) {
    const ids = idsPerChannel.get(String(event.channel)) ?? new Set();
    ids.add(messageId);
    idsPerChannel.set(String(event.channel), ids);
  }
  assert.deepEqual([...idsPerChannel].filter(([, ids]) => ids.size !== 1 || ids.has(undefined)), [], 'one channel.stored message id per channel');
  const listing = await listTarget(run.targetDir);
  assert.equal(listing.length, channels.length, 'one file per channel in the target, nothing else');
  const status = await stack.status(taskId);
  assert.equal(status.status, 'done', JSON.stringify(status));
  assert.equal(status.done, channels.length);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'exactly one task.completed');
}

/**
 * After a failover the work queues may still hold copies: publishes sent again after a reconnect and deliveries the
 * dead node had handed out. They must drain (each copy finds its channel stored and announced), leaving nothing
 * behind and announcing nothing twice. Event queues are left out: they wait for a notifier these tests do not run.
 */
export async function assertQueuesDrain(
  stack: E2eStack,
  run: FailoverRun,
  cluster: { listQueues(): Promise<{ name: string; messages: number }[]> },
  timeoutMs: number,
): Promise<void> {
  let leftover: { name: string; messages: number }[] = [];
  const settled = async (): Promise<boolean> => {
    leftover = (await cluster.listQueues()).filter((q) => q.messages > 0 && !q.name.startsWith('e2e.spy.') && !q.name.endsWith('events'));
    return leftover.length === 0;
  };
  try {
    await waitFor('every work queue drained', settled, { timeoutMs, intervalMs: 1000 });
  } catch {
    assert.deepEqual(leftover, [], `no message left in any queue within ${timeoutMs} ms`);
  }
  assert.equal(eventsFor(run.tap.messages, run.taskId, 'task.completed').length, 1, 'still exactly one task.completed');
  const ids = new Set(eventsFor(run.tap.messages, run.taskId, 'channel.stored').map((e) => e.messageId));
  assert.equal(ids.size, run.channels.length, 'still one channel.stored message id per channel');
  assert.equal((await listTarget(run.targetDir)).length, run.channels.length, 'still one file per channel in the target');
}
