import { ROUTING_KEYS, validateChannelStoreJob, validatePackBatch } from '@subpack/contracts';
import type { Publisher } from '@subpack/messaging';
import { InvalidTaskIdError, type TaskStore } from '@subpack/state';
import { failChannel, failTaskOnce } from './completion';

export interface ParkedMessage {
  routingKey: string;
  body: unknown;
  reason: string;
}

/**
 * What parking a message means for its task: a parked task fails with the reason, a parked channel (or batch of
 * channels) is counted as failed so the task still completes, as "partial". Nothing is left hanging.
 */
export async function accountParked(store: TaskStore, publisher: Publisher, owner: string, msg: ParkedMessage): Promise<void> {
  const error = { code: 'PARKED', message: msg.reason };
  const body = msg.body as { taskId?: unknown } | null;
  const taskId = body && typeof body === 'object' && typeof body.taskId === 'string' ? body.taskId : undefined;
  if (!taskId) return; // unparseable: nothing to attribute it to; the parking lot keeps it with its reason
  if (msg.routingKey === ROUTING_KEYS.packTask) {
    await failTaskOnce(store, publisher, taskId, error, owner).catch((err: unknown) => {
      if (!(err instanceof InvalidTaskIdError)) throw err;
    });
    return;
  }
  const channels: string[] = [];
  if (msg.routingKey === ROUTING_KEYS.channelStore) {
    const job = validateChannelStoreJob(msg.body);
    if (job.ok) channels.push(job.value.channel);
  } else if (msg.routingKey === ROUTING_KEYS.packBatch) {
    const batch = validatePackBatch(msg.body);
    if (batch.ok) channels.push(...batch.value.channels.map((c) => c.id));
  }
  if (channels.length === 0 || !(await store.getTaskSummary(taskId))) return;
  for (const channel of channels) await failChannel(store, publisher, owner, { taskId, channel, error });
}
