import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy, type Publisher, publishEvent } from '@subpack/messaging';
import type { CancelTaskResult, TaskStore } from '@subpack/state';
import { ANNOUNCE_LEASE_MS, announceOnce, announceStoredChannels } from './completion';
import { attemptField, now } from './events';

/**
 * How long an uploader's write stays registered (TaskStore.beginChannelWrite) without being marked: far above any
 * write, so the lease only ends the wait for a writer that crashed.
 */
export const CHANNEL_WRITE_LEASE_MS = 10 * 60_000;

/** How long a cancel waits by default for the writes already under way before it gives up on them. */
export const CANCEL_DRAIN_MS = 60_000;

const DRAIN_POLL: BackoffPolicy = { initialDelayMs: 25, maxDelayMs: 500, factor: 2, jitter: 0.2 };

export interface CancelDeps {
  store: TaskStore;
  publisher: Publisher;
  /** Identifies this process in the task.cancelled lease. */
  owner: string;
}

export interface CancelOptions {
  /** Recorded with the task as cancelReason. */
  reason?: string;
  /** Longest wait for writes already under way (default CANCEL_DRAIN_MS). */
  drainMs?: number;
}

/**
 * Cancels a pending or running task and announces task.cancelled once. Nothing new is written after the cancel, but a
 * write that had already started when it came cannot be called back: its outcome is still recorded, and this waits
 * for such writes (at most `drainMs`, after which the rest are given up and not recorded) so that the counts it
 * returns and announces are final and match what is in the target. A task cancelled before (say by a call that crashed
 * before announcing) is announced if it was not; any other outcome (finished, completing, unknown) changes nothing and
 * announces nothing.
 */
export async function cancelTask(deps: CancelDeps, taskId: string, by?: string, options: CancelOptions = {}): Promise<CancelTaskResult> {
  const { store } = deps;
  const result = await store.cancelTask(taskId, { ...(by !== undefined ? { by } : {}), ...(options.reason !== undefined ? { reason: options.reason } : {}) });
  if (result.outcome !== 'cancelled' && result.outcome !== 'already-cancelled') return result;
  await drainWrites(store, taskId, options.drainMs ?? CANCEL_DRAIN_MS);
  const summary = await store.getTaskSummary(taskId);
  // Gone only if it expired in the meantime: nothing left to announce about.
  if (!summary) return result;
  // As with task.completed, every stored channel is announced before the task's last word.
  if (summary.done > 0) await announceStoredChannels(store, deps.publisher, taskId, deps.owner, summary.attempt);
  await announceOnce(
    `task.cancelled of task ${JSON.stringify(taskId)}`,
    deps.owner,
    {
      claim: (owner) => store.claimTaskCancelled(taskId, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseTaskCancelled(taskId, owner),
      confirm: () => store.confirmTaskCancelled(taskId),
    },
    () =>
      publishEvent(deps.publisher, {
        type: 'task.cancelled',
        taskId,
        total: summary.total,
        done: summary.done,
        failed: summary.failed,
        ...(summary.cancelledBy !== undefined ? { cancelledBy: summary.cancelledBy } : {}),
        ...attemptField(summary.attempt),
        at: now(),
      }),
  );
  return { ...result, done: summary.done, failed: summary.failed, total: summary.total };
}

/** Waits until no write of the task is under way, then closes the door on any that never reported back. */
async function drainWrites(store: TaskStore, taskId: string, drainMs: number): Promise<void> {
  const deadline = Date.now() + drainMs;
  for (let look = 1; (await store.writesUnderWay(taskId)) > 0; look++) {
    const pause = backoffDelay(look, DRAIN_POLL);
    if (Date.now() + pause > deadline) break;
    await sleep(pause);
  }
  await store.abandonChannelWrites(taskId);
}
