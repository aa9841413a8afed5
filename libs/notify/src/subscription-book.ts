import type { NotifySubscription, SubscriptionSource } from '@subpack/contracts';
import type { TaskStore } from '@subpack/state';
import { subscriptionList, subscriptionTarget, type SubscriptionTarget } from './subscriptions';

/** A subscription as configured or as the task named it, with its routing target. */
export interface KnownSubscription {
  readonly target: SubscriptionTarget;
  readonly raw: NotifySubscription;
}

/** Task subscriptions are read again after this long, so a 1,000-channel task does not cost 1,000 Redis reads. */
const TASK_CACHE_MS = 5_000;
const TASK_CACHE_ENTRIES = 1_000;

/** The global subscriptions (configuration) plus each task's own (saved by the packer in the task record). */
export class SubscriptionBook {
  private readonly global: readonly KnownSubscription[];
  private readonly cache = new Map<string, { readonly at: number; readonly list: readonly KnownSubscription[] }>();

  constructor(
    private readonly store: TaskStore,
    global: readonly NotifySubscription[],
  ) {
    this.global = known('global', global);
  }

  async forTask(taskId: string): Promise<readonly KnownSubscription[]> {
    return [...this.global, ...(await this.taskOwn(taskId))];
  }

  /** The subscription a delivery names, or undefined when it is no longer configured (or the task expired). */
  async find(taskId: string, source: SubscriptionSource, key: string): Promise<KnownSubscription | undefined> {
    const list = source === 'global' ? this.global : await this.taskOwn(taskId, true);
    return list.find((subscription) => subscription.target.key === key);
  }

  private async taskOwn(taskId: string, fresh = false): Promise<readonly KnownSubscription[]> {
    const cached = this.cache.get(taskId);
    if (!fresh && cached !== undefined && Date.now() - cached.at < TASK_CACHE_MS) return cached.list;
    const saved = await this.store.getSubscriptions(taskId);
    // Written by the packer from a validated task; JSON.parse of our own record.
    const list = saved === null ? [] : known('task', subscriptionList(JSON.parse(saved) as Parameters<typeof subscriptionList>[0]));
    if (this.cache.size >= TASK_CACHE_ENTRIES) this.cache.clear();
    this.cache.set(taskId, { at: Date.now(), list });
    return list;
  }
}

function known(source: SubscriptionSource, list: readonly NotifySubscription[]): KnownSubscription[] {
  return list.map((raw) => ({ raw, target: subscriptionTarget(source, raw) }));
}
