import type { NotifyFormat, SubpackEvent } from '@subpack/contracts';
import type { HostAllowlist } from './address-policy';
import { deliveryIdFor } from './batcher';
import { renderRequest, robotReplyProblem } from './formats';
import { sendRequest } from './http-sender';
import { resolveSubscription } from './subscriptions';

const SAMPLE_TASK = 'subpack-notify-test';

export type TestDelivery =
  | { delivered: true; status: number; deliveryId: string; format: NotifyFormat; signed: boolean }
  | { delivered: false; reason: string; permanent: boolean };

/**
 * Signs and sends one sample task.completed event the way the notifier would, through the notifier's own allowlist and
 * address checks, so a person can check a receiver (its signature check, its robot key) before tasks point at it.
 * The subscription must have been validated (validateNotifySubscriptions).
 */
export async function sendTestDelivery(
  raw: { url: string; format: NotifyFormat; secret?: string },
  options: { allowlist: HostAllowlist; timeoutMs: number },
): Promise<TestDelivery> {
  const subscription = resolveSubscription('global', raw, { named: new Map() });
  const event: SubpackEvent = { type: 'task.completed', taskId: SAMPLE_TASK, status: 'done', total: 2, done: 2, failed: 0, at: new Date().toISOString() };
  const deliveryId = deliveryIdFor([event], `${subscription.key}-${Date.now()}`);
  const request = renderRequest({
    deliveryId,
    taskId: SAMPLE_TASK,
    events: [event],
    subscription,
    facts: { package: 'com.example.app', versionName: '1.0.0', versionCode: 1 },
    now: new Date(),
  });
  const outcome = await sendRequest(request, { allowlist: options.allowlist, timeoutMs: options.timeoutMs, maxResponseBytes: 64 * 1024 });
  const problem = outcome.ok ? robotReplyProblem(subscription.format, outcome.status, outcome.body) : outcome;
  if (problem !== undefined) return { delivered: false, reason: problem.reason, permanent: problem.permanent };
  return { delivered: true, status: outcome.ok ? outcome.status : 0, deliveryId, format: subscription.format, signed: subscription.secret !== undefined };
}
