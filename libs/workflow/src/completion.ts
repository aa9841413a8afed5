import { randomUUID } from 'node:crypto';
import { type Publisher, publishEvent } from '@subpack/messaging';
import type { TaskStore } from '@subpack/state';
import { now } from './events';

/**
 * Each call claims as its own lease holder: handlers running side by side in one process are different claimants, so
 * exactly one of them wins the single atomic claim (a per-process owner would let all of them re-claim its lease).
 */
function claimant(owner: string): string {
  return `${owner}/${randomUUID()}`;
}

/**
 * Emits task.completed once the last channel is accounted for. The lease makes concurrent finishers (and redeliveries)
 * agree on one publisher; the event is confirmed by the broker before the state says "sent". Call it whenever the
 * task looks complete, including on redelivery: a finisher that crashed before publishing is covered that way.
 */
export async function completeTaskOnce(store: TaskStore, publisher: Publisher, taskId: string, processOwner: string): Promise<boolean> {
  const owner = claimant(processOwner);
  const claim = await store.claimCompletion(taskId, owner, 30_000);
  if (claim !== 'claimed') return false;
  const summary = await store.getTaskSummary(taskId);
  if (!summary) return false;
  try {
    await publishEvent(publisher, {
      type: 'task.completed',
      taskId,
      status: summary.failed > 0 ? 'partial' : 'done',
      total: summary.total,
      done: summary.done,
      failed: summary.failed,
      at: now(),
    });
  } catch (err) {
    await store.releaseCompletion(taskId, owner);
    throw err;
  }
  await store.confirmCompletion(taskId);
  return true;
}

/** Marks the task failed and emits one task.failed event with the reason. */
export async function failTaskOnce(
  store: TaskStore,
  publisher: Publisher,
  taskId: string,
  error: { code: string; message: string },
  processOwner: string,
): Promise<void> {
  const { status } = await store.failTask(taskId, error);
  if (status !== 'failed') return;
  const owner = claimant(processOwner);
  const claim = await store.claimTaskFailed(taskId, owner, 30_000);
  if (claim !== 'claimed') return;
  try {
    await publishEvent(publisher, { type: 'task.failed', taskId, error, at: now() });
  } catch (err) {
    await store.releaseTaskFailed(taskId, owner);
    throw err;
  }
  await store.confirmTaskFailed(taskId);
}

/**
 * Counts one channel as failed with its reason, announces it, and completes the task when that channel was the last
 * one outstanding. Safe to repeat: the mark is idempotent. Only a first failure is announced: a channel already stored
 * stays stored, and a stray message for it (a forged or duplicate one) must not report it failed.
 */
export async function failChannel(
  store: TaskStore,
  publisher: Publisher,
  owner: string,
  failure: { taskId: string; channel: string; error: { code: string; message: string } },
): Promise<void> {
  const { taskId, channel, error } = failure;
  const mark = await store.markChannelFailed(taskId, channel, error);
  if (mark.firstTime) await publishEvent(publisher, { type: 'channel.failed', taskId, channel, error, at: now() });
  if (mark.complete) await completeTaskOnce(store, publisher, taskId, owner);
}
