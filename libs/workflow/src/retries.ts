import { reasonText, validateEvent, type RetryScheduledEvent } from '@subpack/contracts';
import { publishEvent, type Publisher } from '@subpack/messaging';
import { ROUTING_KEYS } from '@subpack/rules';
import { attemptField, now } from './events';

export interface RetriedMessage {
  /** The routing key the message was first published with. */
  routingKey: string;
  body: unknown;
  attempt: number;
  tier: { name: string; ttlMs: number };
  reason: string;
  /** The run of the task the message belongs to, when the task was retried. */
  taskAttempt?: number;
}

/** Only the task pipeline's own messages are announced; a retried webhook delivery announcing itself could loop. */
const ANNOUNCED_ROUTES: ReadonlySet<string> = new Set([ROUTING_KEYS.packTask, ROUTING_KEYS.packBatch, ROUTING_KEYS.channelStore]);

/**
 * Publishes retry.scheduled (warn level) for a task message that is about to wait in a retry tier. Messages without a
 * valid task id, or outside the task pipeline, are not announced. Returns the event, or undefined when none was sent.
 */
export async function announceRetry(publisher: Publisher, retried: RetriedMessage): Promise<RetryScheduledEvent | undefined> {
  if (!ANNOUNCED_ROUTES.has(retried.routingKey)) return undefined;
  const body = retried.body !== null && typeof retried.body === 'object' ? (retried.body as Record<string, unknown>) : {};
  const batch = body.batch !== null && typeof body.batch === 'object' ? (body.batch as Record<string, unknown>).index : undefined;
  const candidate = {
    type: 'retry.scheduled',
    taskId: body.taskId,
    route: retried.routingKey,
    ...(retried.routingKey === ROUTING_KEYS.channelStore && typeof body.channel === 'string' ? { channel: body.channel } : {}),
    ...(retried.routingKey === ROUTING_KEYS.packBatch && typeof batch === 'number' ? { batch } : {}),
    attempt: retried.attempt,
    tier: retried.tier.name,
    delayMs: retried.tier.ttlMs,
    reason: reasonText(retried.reason),
    ...attemptField(retried.taskAttempt),
    at: now(),
  };
  const checked = validateEvent(candidate);
  if (!checked.ok || checked.value.type !== 'retry.scheduled') return undefined;
  await publishEvent(publisher, checked.value);
  return checked.value;
}
