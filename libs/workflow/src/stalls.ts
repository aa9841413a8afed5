import { type Publisher, publishEvent } from '@subpack/messaging';
import type { TaskStore } from '@subpack/state';
import { attemptField, now } from './events';
import { reportLostState } from './parked';

export interface StallSweep {
  /** Tasks reported stalled by this sweep (each stall is reported once). */
  stalled: string[];
  /** Running tasks whose state vanished from Redis, reported as lost. */
  lost: string[];
}

/**
 * Finds running tasks without progress for `stallAfterMs` and reports each stall once (event.task.stalled, and
 * `stalledAt` in the task's state for `subpack status`). A running task whose state is gone is reported as lost, so
 * neither case can hang silently. Safe to run from several processes at once: the mark is atomic.
 */
export async function sweepStalls(store: TaskStore, publisher: Publisher, stallAfterMs: number): Promise<StallSweep> {
  const sweep: StallSweep = { stalled: [], lost: [] };
  for (const { taskId, lastProgressAt } of await store.quietTasks(stallAfterMs)) {
    const mark = await store.markStalled(taskId);
    if (mark === 'no-task') {
      await reportLostState(store, publisher, taskId);
      sweep.lost.push(taskId);
    } else if (mark === 'marked') {
      const task = await store.getTaskSummary(taskId);
      if (!task) continue;
      await publishEvent(publisher, {
        type: 'task.stalled',
        taskId,
        lastProgressAt,
        total: task.total,
        done: task.done,
        failed: task.failed,
        ...attemptField(task.attempt),
        at: now(),
      });
      sweep.stalled.push(taskId);
    }
  }
  return sweep;
}
