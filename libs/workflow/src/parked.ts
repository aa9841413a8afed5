import { packTaskFingerprint, validateChannelStoreJob, validatePackBatch, validatePackTask } from '@subpack/contracts';
import { publishEvent, type Publisher } from '@subpack/messaging';
import { ROUTING_KEYS } from '@subpack/rules';
import { InvalidTaskIdError, type TaskStore, type TaskSummary } from '@subpack/state';
import { failChannel, failTaskOnce } from './completion';
import { now } from './events';

export interface ParkedMessage {
  routingKey: string;
  body: unknown;
  reason: string;
  /** Deliveries made before it was parked, recorded with a failed channel. */
  attempt?: number;
}

/** How long one lost task is reported once, however many of its messages are parked. */
const LOST_STATE_REPORT_SECONDS = 24 * 60 * 60;

export const STATE_LOST_CODE = 'STATE_LOST';

export function stateLostMessage(taskId: string): string {
  return (
    `the state of task ${JSON.stringify(taskId)} is gone from Redis (restarted without persistence, flushed, or expired), ` +
    'so its channels could not be recorded; resend the same task (same taskId and content) to complete it: ' +
    'channels already written are recognised and not written again'
  );
}

/**
 * What parking a message means for its task: a parked task fails with the reason, a parked channel (or batch of
 * channels) is counted as failed so the task still completes, as "partial". Nothing is left hanging: a message for a
 * task whose state is gone produces one task.failed saying so and how to recover. A message that is not the task's
 * own (other content under its id, or a channel the task does not have) touches nothing of the task.
 */
export async function accountParked(store: TaskStore, publisher: Publisher, owner: string, msg: ParkedMessage): Promise<void> {
  const error = { code: 'PARKED', message: msg.reason };
  const body = msg.body as { taskId?: unknown } | null;
  const taskId = body && typeof body === 'object' && typeof body.taskId === 'string' ? body.taskId : undefined;
  if (!taskId) return; // unparseable: nothing to attribute it to; the parking lot keeps it with its reason
  let task: TaskSummary | null;
  try {
    task = await store.getTaskSummary(taskId);
  } catch (err) {
    if (err instanceof InvalidTaskIdError) return;
    throw err;
  }
  if (msg.routingKey === ROUTING_KEYS.packTask) {
    if (task?.fingerprint !== undefined && !isSameTask(msg.body, task.fingerprint)) return;
    await failTaskOnce(store, publisher, taskId, error, owner);
    return;
  }
  const channels: string[] = [];
  let split: number | undefined;
  if (msg.routingKey === ROUTING_KEYS.channelStore) {
    const job = validateChannelStoreJob(msg.body);
    if (job.ok) channels.push(job.value.channel);
  } else if (msg.routingKey === ROUTING_KEYS.packBatch) {
    const batch = validatePackBatch(msg.body);
    if (batch.ok) channels.push(...batch.value.channels);
    if (batch.ok) split = batch.value.batch.count;
  }
  if (channels.length === 0) return;
  if (!task) {
    await reportLostState(store, publisher, taskId);
    return;
  }
  // Only the task's own channels: a stray job for a channel the task does not have changes no counter, and a batch
  // that is not the task's own (another split, or any channel the task does not have) changes none at all.
  const inputs = await store.channelInputsOf(taskId, channels);
  if (split !== undefined && (split !== task.batches || inputs.includes(null))) return;
  for (const [i, channel] of channels.entries()) {
    if (inputs[i] !== null) await failChannel(store, publisher, owner, { taskId, channel, error, attempt: task.attempt, ...(msg.attempt !== undefined ? { deliveries: msg.attempt } : {}) });
  }
}

function isSameTask(body: unknown, fingerprint: string): boolean {
  const parsed = validatePackTask(body);
  return parsed.ok && packTaskFingerprint(parsed.value) === fingerprint;
}

/** One task.failed per lost task: recording the task as failed would make a resend look finished, so nothing is. */
export async function reportLostState(store: TaskStore, publisher: Publisher, taskId: string): Promise<void> {
  if (!(await store.once(`state-lost:${taskId}`, LOST_STATE_REPORT_SECONDS))) return;
  try {
    await publishEvent(publisher, { type: 'task.failed', taskId, error: { code: STATE_LOST_CODE, message: stateLostMessage(taskId) }, at: now() });
  } catch (err) {
    await store.releaseOnce(`state-lost:${taskId}`);
    throw err;
  }
}
