import { taskIdProblem } from '@subpack/rules';
import { InvalidTaskIdError } from './errors';

/** The PackTask contract's rule, checked here too because the id becomes part of Redis key names. */
export function assertTaskId(taskId: string): void {
  const problem = taskIdProblem(taskId);
  if (problem) throw new InvalidTaskIdError(taskId, problem);
}

/**
 * Every key that belongs to one task. The task id sits in a `{hash tag}` so all of them land in one Redis Cluster
 * slot, which the multi-key Lua scripts need. Task ids cannot contain braces (see the rules' TASK_ID_PATTERN).
 */
export interface TaskKeys {
  /** Hash: status, counters, meta, timestamps. */
  task: string;
  /** Hash: channel id -> JSON ChannelRecord. */
  channels: string;
  /** String: `lease:<owner>` (with PX) while someone sends task.completed, `sent` afterwards. */
  completedEvent: string;
  /** String: same protocol for task.failed. */
  failedEvent: string;
  /** Set: indexes of batches already planned (idempotency for batch fan-out). */
  plannedBatches: string;
  /** String: the task's notification subscriptions (JSON), read by the notifier. */
  subscriptions: string;
  /** Hash: channel id -> JSON extras of the channel as accepted; what the uploader derives each channel from. */
  inputs: string;
  /** String: the fingerprint of the task's content, reserved before the task is recorded. */
  fingerprint: string;
  /** String: same protocol as completedEvent, for task.accepted. */
  acceptedEvent: string;
  /** Hash: channel id -> `lease:<owner>:<expiry ms>` while someone sends its channel.stored, `sent` afterwards. */
  storedEvents: string;
  /** String: the task as it was sent (PackTask JSON), recorded with the reservation; what a retry runs again. */
  content: string;
  /** Hash: channel id -> expiry ms of a write under way to the target (see beginChannelWrite). */
  writes: string;
  /** String: same protocol as completedEvent, for task.cancelled. */
  cancelledEvent: string;
}

export function taskKeys(prefix: string, taskId: string): TaskKeys {
  assertTaskId(taskId);
  const base = `${prefix}task:{${taskId}}`;
  return {
    task: base,
    channels: `${base}:channels`,
    completedEvent: `${base}:event:completed`,
    failedEvent: `${base}:event:failed`,
    plannedBatches: `${base}:batches`,
    subscriptions: `${base}:notify`,
    inputs: `${base}:inputs`,
    fingerprint: `${base}:fingerprint`,
    acceptedEvent: `${base}:event:accepted`,
    storedEvents: `${base}:event:stored`,
    content: `${base}:content`,
    writes: `${base}:writes`,
    cancelledEvent: `${base}:event:cancelled`,
  };
}

/** The fixed KEYS order every multi-key script relies on (see lua-scripts.ts). */
export function allTaskKeys(keys: TaskKeys): string[] {
  return [
    keys.task,
    keys.channels,
    keys.completedEvent,
    keys.failedEvent,
    keys.plannedBatches,
    keys.subscriptions,
    keys.inputs,
    keys.fingerprint,
    keys.acceptedEvent,
    keys.storedEvents,
    keys.content,
    keys.writes,
    keys.cancelledEvent,
  ];
}
