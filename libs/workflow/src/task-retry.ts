import { packTaskFingerprint, packTaskMessageId, validatePackTask, type PackTask } from '@subpack/contracts';
import type { Publisher } from '@subpack/messaging';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import type { RetryableStatus, RetryReset, TaskStatus, TaskStore, TaskSummary } from '@subpack/state';

/*
 * Running a finished task again. `subpack retry <id>` runs a failed or partial task again from the content it was sent
 * with (kept in Redis with its reservation): the task's progress and once-only event guards are reset in one atomic
 * step, its attempt goes up by one, and its task.pack goes to the packer again. Channels already stored are found
 * holding the same bytes and kept; the others are written. The new run ends with one task.completed or task.failed
 * of its own.
 */

/** What a retry or a replay would do to a task in this state; a refusal says why nothing happens and what to run. */
export type RetryDecision = { retry: true } | { retry: false; reason: string };

/** What replaying a parked task.pack does: send it as it is, run the finished task again first, or nothing. */
export type ReplayDecision = { action: 'send' } | { action: 'retry' } | { action: 'refuse'; reason: string };

export type RetryStart = { started: true; attempt: number; previous: RetryableStatus } | { started: false; reason: string };

function quoted(taskId: string): string {
  return JSON.stringify(taskId);
}

function progress(task: TaskSummary): string {
  return `${task.done} stored, ${task.failed} failed of ${task.total}`;
}

/**
 * Whether `subpack retry` may run this task again: a task that ended failed, partial or cancelled (a person asking to
 * run a cancelled task again has changed their mind; nothing else ever brings it back).
 */
export function decideTaskRetry(taskId: string, task: TaskSummary | null): RetryDecision {
  if (!task) return { retry: false, reason: `no task ${quoted(taskId)} (never submitted, or expired after finishing)` };
  return refusalFor(task.status, taskId, task) ?? { retry: true };
}

function refusalFor(status: TaskStatus, taskId: string, task?: TaskSummary): { retry: false; reason: string } | undefined {
  if (status === 'pending' || status === 'running') {
    const counts = task ? ` (${progress(task)} so far)` : '';
    return { retry: false, reason: `task ${quoted(taskId)} is still running${counts}; follow it with \`subpack status ${taskId}\`` };
  }
  if (status === 'done') return { retry: false, reason: `task ${quoted(taskId)} is done: every channel is stored; nothing to retry` };
  return undefined;
}

/**
 * Whether replaying a parked task.pack may start its task: a task not finished (or never recorded) takes it as any
 * resend; a finished one is run again only when it failed before any channel was planned (e.g. its master was missing
 * when it was sent), which is what running the parked message again means. Anything else would do nothing, and the
 * refusal says so and what to run instead.
 */
export function decideTaskReplay(input: {
  taskId: string;
  task: TaskSummary | null;
  /** Batches of the task already planned. */
  plannedBatches: number;
  /** The fingerprint the task id belongs to (record or reservation), null when none is known. */
  recordedFingerprint: string | null;
  /** The parked message's own. */
  bodyFingerprint: string;
}): ReplayDecision {
  const { taskId, task } = input;
  if (input.recordedFingerprint !== null && input.recordedFingerprint !== input.bodyFingerprint) {
    return { action: 'refuse', reason: `it is not the content task ${quoted(taskId)} was sent with; send it under a new taskId` };
  }
  if (!task || task.status === 'pending' || task.status === 'running') return { action: 'send' };
  if (task.status === 'done') return { action: 'refuse', reason: `task ${quoted(taskId)} is done: every channel is stored; nothing to replay` };
  if (task.status === 'cancelled') return { action: 'refuse', reason: cancelledReason(taskId, 'replaying its task.pack does not run it again') };
  if (task.status === 'failed' && input.plannedBatches === 0 && task.done + task.failed === 0) return { action: 'retry' };
  return {
    action: 'refuse',
    reason:
      `task ${quoted(taskId)} ended ${task.status} after its channels were planned (${progress(task)}): ` +
      `replaying its task.pack would not run it again; run \`subpack retry ${taskId}\``,
  };
}

/**
 * What to tell whoever resends a task that failed or ended partial (same content): a resend does not start it again,
 * a retry does. Undefined for other states (a done task, or one still running).
 */
export function resentTaskNote(taskId: string, status: TaskStatus): string | undefined {
  if (status === 'failed') return `task ${quoted(taskId)} already failed: run \`subpack retry ${taskId}\``;
  if (status === 'partial') return `task ${quoted(taskId)} already finished partial: run \`subpack retry ${taskId}\` to store its failed channels`;
  if (status === 'cancelled') return cancelledReason(taskId, 'a resend does not start it again');
  return undefined;
}

function cancelledReason(taskId: string, what: string): string {
  return `task ${quoted(taskId)} was cancelled: ${what}; run \`subpack retry ${taskId}\` to run it again`;
}

/**
 * What to tell a sender before it resends `task`: the note when the task already failed or ended partial with this
 * same content (a resend would not start it again), else undefined.
 */
export async function resendNote(store: TaskStore, task: PackTask): Promise<string | undefined> {
  const existing = await store.getTaskSummary(task.taskId);
  if (!existing) return undefined;
  const recorded = existing.fingerprint ?? (await store.reservedFingerprint(task.taskId));
  if (recorded !== null && recorded !== packTaskFingerprint(task)) return undefined;
  return resentTaskNote(task.taskId, existing.status);
}

function resetRefusal(taskId: string, reset: Exclude<RetryReset, { outcome: 'reset' }>): string {
  if (reset.outcome === 'no-task') return `no task ${quoted(taskId)} (never submitted, or expired after finishing)`;
  if (reset.outcome === 'no-content') return noContentReason(taskId);
  if (reset.outcome === 'cancelled') return cancelledReason(taskId, 'only `subpack retry` runs it again');
  return refusalFor(reset.outcome === 'running' ? reset.status : 'done', taskId)?.reason ?? `task ${quoted(taskId)} cannot be retried now`;
}

function noContentReason(taskId: string, task?: TaskSummary): string {
  const why = task?.error ? ` (it failed before it could be read: ${task.error.message})` : '';
  return `task ${quoted(taskId)} cannot be run again: the content it was sent with is not recorded${why}; send the task under a new taskId`;
}

/** The content a task was sent with, as recorded with its reservation; a reason when there is none to run. */
async function recordedContent(store: TaskStore, taskId: string, task: TaskSummary): Promise<PackTask | string> {
  const text = await store.taskContent(taskId);
  if (text === null) return noContentReason(taskId, task);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const checked = validatePackTask(body);
  if (!checked.ok || checked.value.taskId !== taskId) {
    return `the recorded content of task ${quoted(taskId)} is not a valid task${checked.ok ? '' : ` (${checked.errors.join('; ')})`}; send the task under a new taskId`;
  }
  return checked.value;
}

/**
 * `subpack retry`: runs a failed, partial or cancelled task again with the content it was sent with. Refuses, changing
 * nothing, a task that is unknown, still running or done. Once the reset is made the task is pending as its next attempt; if
 * its task.pack then cannot be published, the error says how to send it.
 */
export async function retryTask(deps: { store: TaskStore; publisher: Pick<Publisher, 'publish'> }, taskId: string): Promise<RetryStart> {
  const task = await deps.store.getTaskSummary(taskId);
  const decision = decideTaskRetry(taskId, task);
  if (!decision.retry) return { started: false, reason: decision.reason };
  const content = await recordedContent(deps.store, taskId, task!);
  if (typeof content === 'string') return { started: false, reason: content };
  const reset = await deps.store.resetForRetry(taskId, { allowCancelled: true });
  if (reset.outcome !== 'reset') return { started: false, reason: resetRefusal(taskId, reset) };
  try {
    await deps.publisher.publish(EXCHANGES.main, ROUTING_KEYS.packTask, content, { messageId: packTaskMessageId(taskId, reset.attempt) });
  } catch (err) {
    throw new Error(
      `task ${quoted(taskId)} is pending as attempt ${reset.attempt}, but its task.pack could not be sent (${(err as Error).message}); ` +
        'send the same task again with `subpack submit <task.json>` to run it',
      { cause: err },
    );
  }
  return { started: true, attempt: reset.attempt, previous: reset.previous };
}

/**
 * Before a parked message is sent back: a task.pack of a finished task is let through only when the task may run again
 * from it (decideTaskReplay), and then the task is reset for its next attempt first. Returns why the message stays
 * parked, or undefined to send it. Other messages, and bodies that are not a valid task (the packer refuses those with
 * their reason), go as they are.
 */
export async function prepareParkedReplay(store: TaskStore, parked: { routingKey: string | undefined; body: Buffer }): Promise<string | undefined> {
  if (parked.routingKey !== ROUTING_KEYS.packTask) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(parked.body.toString('utf8'));
  } catch {
    return undefined;
  }
  const checked = validatePackTask(body);
  if (!checked.ok) return undefined;
  const { taskId } = checked.value;
  const task = await store.getTaskSummary(taskId);
  const decision = decideTaskReplay({
    taskId,
    task,
    plannedBatches: task ? (await store.plannedBatches(taskId)).size : 0,
    recordedFingerprint: task?.fingerprint ?? (await store.reservedFingerprint(taskId)),
    bodyFingerprint: packTaskFingerprint(checked.value),
  });
  if (decision.action === 'send') return undefined;
  if (decision.action === 'refuse') return decision.reason;
  // The parked message is the content: the task need not have recorded it.
  const reset = await store.resetForRetry(taskId, { requireContent: false });
  return reset.outcome === 'reset' ? undefined : resetRefusal(taskId, reset);
}
