export const JSON_CONTENT_TYPE = 'application/json';

/**
 * The task as one run of it: the task id alone for the first attempt, `<taskId>#<attempt>` for a retried one
 * (`subpack retry`). Task ids cannot contain "#", so the two never collide, and a retried run's messages and events get
 * ids of their own that consumers deduplicating on ids do not drop as repeats of the earlier run.
 */
export function taskAttemptRef(taskId: string, attempt?: number): string {
  return attempt !== undefined && attempt > 1 ? `${taskId}#${attempt}` : taskId;
}

/**
 * Deterministic message ids: a redelivered or re-sent message keeps its id, so consumers (and the notifier's
 * webhook receivers) can de-duplicate. Each attempt of a retried task has its own.
 */
export function packTaskMessageId(taskId: string, attempt?: number): string {
  return `task.pack:${taskAttemptRef(taskId, attempt)}`;
}

export function packBatchMessageId(taskId: string, batchIndex: number, attempt?: number): string {
  return `pack.batch:${taskAttemptRef(taskId, attempt)}:${batchIndex}`;
}

export function channelStoreMessageId(taskId: string, channel: string, attempt?: number): string {
  return `channel.store:${taskAttemptRef(taskId, attempt)}:${channel}`;
}

/**
 * The record's number and time: the number alone would repeat if the API's Redis lost its audit counter, and a
 * consumer deduplicating on ids would then drop new records as repeats of old ones.
 */
export function auditRecordMessageId(record: { readonly seq: number; readonly at: string }): string {
  return `audit.recorded:${record.seq}:${record.at}`;
}
