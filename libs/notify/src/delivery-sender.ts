import { createHash } from 'node:crypto';
import { reasonText, validateNotifyDelivery, type NotifyDelivery, type NotifyFailedEvent, type SubpackEvent } from '@subpack/contracts';
import { PermanentError, TransientError, publishEvent, type Publisher } from '@subpack/messaging';
import type { RateWindow, TaskStore } from '@subpack/state';
import type { SubscriptionBook } from './subscription-book';
import { renderRequest, robotReplyProblem, type TaskFacts } from './formats';
import { sendRequest, type SendOptions } from './http-sender';
import { describeSubscription, resolveSubscription, SubscriptionError, urlOrigin, type SecretBook, type Subscription } from './subscriptions';

export type DeliveryOutcome = 'delivered' | 'retried' | 'rejected' | 'gave_up';

export interface DeliveryReport {
  readonly outcome: DeliveryOutcome;
  readonly deliveryId: string;
  readonly taskId: string;
  readonly subscription: string;
  readonly format: string;
  readonly events: number;
  readonly seconds?: number;
  readonly reason?: string;
}

export interface DeliverySenderDeps {
  readonly publisher: Publisher;
  readonly store: TaskStore;
  readonly subscriptions: SubscriptionBook;
  readonly secrets: SecretBook;
  readonly send: SendOptions;
  /** Messages per minute to one robot, across every notifier replica. */
  readonly robotWindow: RateWindow;
  /** The retry-scheduler's SUBPACK_MAX_ATTEMPTS: a failure on this attempt is the last one. */
  readonly maxAttempts: number;
  /** Called once per delivery attempt, for metrics and logs. */
  readonly report: (report: DeliveryReport) => void;
  readonly exchange?: string;
}

/**
 * Sends one delivery message: looks its subscription and secret up, renders and signs it, and makes one guarded
 * request. Throws TransientError (retried through the tiers) or PermanentError (parked at once); when it gives up it
 * first publishes notify.failed with the reason.
 */
export class DeliverySender {
  constructor(private readonly deps: DeliverySenderDeps) {}

  async deliver(body: unknown, attempt: number): Promise<void> {
    const checked = validateNotifyDelivery(body);
    if (!checked.ok) throw new PermanentError(`invalid notify delivery: ${checked.errors.join('; ')}`);
    const delivery = checked.value;
    const events = delivery.events as unknown as SubpackEvent[];
    const known = await this.deps.subscriptions.find(delivery.taskId, delivery.subscription.source, delivery.subscription.key);
    if (known === undefined) {
      // Nothing to tell: the subscription is gone, so is any place to report to.
      throw new PermanentError(`${delivery.subscription.source} subscription ${delivery.subscription.key} of task ${delivery.taskId} is no longer configured`);
    }
    const base = { deliveryId: delivery.deliveryId, taskId: delivery.taskId, subscription: describeSubscription(known.target), format: known.target.format, events: events.length };
    let subscription: Subscription;
    try {
      subscription = resolveSubscription(known.target.source, known.raw, this.deps.secrets);
    } catch (error) {
      if (!(error instanceof SubscriptionError)) throw error;
      return this.giveUp(delivery, known.target, base, { permanent: true, reason: error.message });
    }
    const facts = subscription.format === 'json' ? {} : await this.facts(delivery.taskId);
    if (subscription.format !== 'json') await this.deps.robotWindow.acquire(robotName(subscription.url));
    const started = process.hrtime.bigint();
    const request = renderRequest({ deliveryId: delivery.deliveryId, taskId: delivery.taskId, events, subscription, facts, now: new Date() });
    const outcome = await sendRequest(request, this.deps.send);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const problem = outcome.ok ? robotReplyProblem(subscription.format, outcome.status, outcome.body) : outcome;
    if (problem === undefined) {
      this.deps.report({ ...base, outcome: 'delivered', seconds });
      return;
    }
    if (!problem.permanent && attempt < this.deps.maxAttempts) {
      this.deps.report({ ...base, outcome: 'retried', seconds, reason: problem.reason });
      throw new TransientError(problem.reason);
    }
    const reason = problem.permanent ? problem.reason : `gave up after ${attempt} attempts: ${problem.reason}`;
    return this.giveUp(delivery, subscription, { ...base, seconds }, { permanent: problem.permanent, reason });
  }

  /** Reports notify.failed, then fails the message so it is parked with the reason (replayable once fixed). */
  private async giveUp(
    delivery: NotifyDelivery,
    target: Pick<Subscription, 'url' | 'format' | 'key'>,
    base: Omit<DeliveryReport, 'outcome'>,
    failure: { permanent: boolean; reason: string },
  ): Promise<never> {
    const event: NotifyFailedEvent = {
      type: 'notify.failed',
      taskId: delivery.taskId,
      subscription: { origin: urlOrigin(target.url), format: target.format, key: target.key },
      deliveryId: delivery.deliveryId,
      permanent: failure.permanent,
      reason: reasonText(failure.reason),
      at: new Date().toISOString(),
    };
    await publishEvent(this.deps.publisher, event, this.deps.exchange);
    this.deps.report({ ...base, outcome: failure.permanent ? 'rejected' : 'gave_up', reason: failure.reason });
    // Permanent either way now: the retry-scheduler parks it at once, keeping the reason.
    throw new PermanentError(failure.reason);
  }

  private async facts(taskId: string): Promise<TaskFacts> {
    const summary = await this.deps.store.getTaskSummary(taskId);
    if (summary === null) return {};
    const { package: pkg, versionName, versionCode, total, done, failed } = summary;
    return { ...(pkg !== undefined ? { package: pkg } : {}), ...(versionName !== undefined ? { versionName } : {}), ...(versionCode !== undefined ? { versionCode } : {}), total, done, failed };
  }
}

/** One rate window per robot (its URL holds the robot's token), whatever level or format points at it. */
function robotName(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}
