import type { PrefixDigests } from '@subpack/apk';
import { validateChannelStoreJob, type ChannelStoreJob } from '@subpack/contracts';
import { PermanentError, TransientError, type Publisher } from '@subpack/messaging';
import { planNamedChannel, writeChannel, type MasterCache, type NamedChannel } from '@subpack/pack';
import type { TaskStore } from '@subpack/state';
import { StorageError, channelStoreRequest, openTarget, type ChannelTarget, type StoredObject, type TargetOptions } from '@subpack/storage';
import { channelsOf, loadAcceptedTask, prefixDigestsOf, taskNotFoundReason } from './accepted-task';
import { CHANNEL_WRITE_LEASE_MS } from './cancel';
import { announceChannelStored, completeTaskOnce } from './completion';
import { asPermanent } from './permanent';
import type { ServiceRoots } from './roots';

export interface UploaderDeps {
  store: TaskStore;
  publisher: Publisher;
  masters: MasterCache;
  roots: ServiceRoots;
  /** Identifies this process in completion leases. */
  owner: string;
  openTarget?: (url: string, opts?: TargetOptions) => ChannelTarget;
  /** Fallback notices and composition switches for object-store targets. */
  targetOptions?: TargetOptions;
}

export function parseStoreJob(body: unknown): ChannelStoreJob {
  const parsed = validateChannelStoreJob(body);
  if (!parsed.ok) throw new PermanentError(`invalid channel store job: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

/** A store that refuses for good (no bucket, no access, a changed master) parks the job; anything else is retried. */
function storeFailure(err: unknown, fileName: string, target: string): Error {
  const message = `storing ${fileName} to ${target} failed: ${(err as Error).message}`;
  return err instanceof StorageError && err.permanent ? new PermanentError(message, { cause: err }) : new TransientError(message, { cause: err });
}

/** What storing one channel did: `cancelled` when its task was cancelled and nothing was written or recorded. */
export interface StoreOutcome {
  url: string;
  skipped: boolean;
  tailBytes: number;
  cancelled?: true;
}

const CANCELLED: StoreOutcome = { url: '', skipped: true, tailBytes: 0, cancelled: true };

/**
 * Writes one channel APK, records it, announces it, and completes the task when it was the last one. A job of a
 * cancelled task writes nothing and is acknowledged: the write is registered with the task just before it starts, and
 * the registration is refused once the task is cancelled, so no object appears in the target after a cancel has
 * reported (a write already under way is waited for by the cancel, and recorded). Every byte and
 * the file name are derived here from the task as accepted (Redis) and the master, with the same planNamedChannel the
 * packer used: the job only names the channel. Every step is safe to repeat: a redelivered job finds the finished
 * object, and channel.stored goes out once per channel however many deliveries store it.
 */
export async function storeChannel(deps: UploaderDeps, body: unknown, delivery: { attempt?: number } = {}): Promise<StoreOutcome> {
  const job = parseStoreJob(body);
  const summary = await deps.store.getTaskSummary(job.taskId);
  if (summary?.status === 'cancelled') return CANCELLED;
  const task = await loadAcceptedTask(deps, job.taskId, summary);
  const [channel] = await channelsOf(deps, job.taskId, [job.channel]);
  let prefix: PrefixDigests;
  let named: Required<NamedChannel>;
  try {
    prefix = await prefixDigestsOf(deps, task);
    named = planNamedChannel(task.master, task.recipe, channel!, task.root, prefix);
  } catch (err) {
    asPermanent(err);
  }
  const { plan, name, digests } = named;
  if (job.sha256 !== undefined && digests.sha256 !== job.sha256) {
    throw new PermanentError(`channel ${JSON.stringify(job.channel)}: master ${task.summary.master} changed since the task was planned (sha256 ${digests.sha256} != ${job.sha256})`);
  }
  let target: ChannelTarget;
  try {
    target = (deps.openTarget ?? openTarget)(task.summary.target, { ...deps.targetOptions, compose: task.summary.upload !== 'stream', roots: deps.roots.targets });
  } catch (err) {
    asPermanent(err);
  }
  const request = channelStoreRequest({ master: task.master.source, manifest: task.master.manifest, channel: job.channel, plan, name, prefix, digests });
  const start = await deps.store.beginChannelWrite(job.taskId, job.channel, CHANNEL_WRITE_LEASE_MS);
  if (start === 'cancelled') return CANCELLED;
  if (start === 'no-task') throw new PermanentError(taskNotFoundReason(job.taskId));
  let stored: StoredObject;
  let outcome;
  try {
    ({ stored, outcome } = await writeChannel(target, request));
  } catch (err) {
    await deps.store.endChannelWrite(job.taskId, job.channel);
    // Retrying the write of a task cancelled meanwhile would only be refused later.
    if ((await deps.store.getTaskSummary(job.taskId))?.status === 'cancelled') return CANCELLED;
    throw storeFailure(err, name, task.summary.target);
  }
  const record = { url: stored.url, bytes: plan.size, md5: digests.md5, sha256: digests.sha256 };
  const mark = await deps.store.markChannelStored(job.taskId, job.channel, { ...record, kept: outcome === 'kept', ...(delivery.attempt !== undefined ? { attempts: delivery.attempt } : {}) });
  // Only a cancel that gave up waiting for this write leaves it unrecorded: it is not announced.
  if (mark.channelStatus !== 'stored') return CANCELLED;
  await announceChannelStored(deps.store, deps.publisher, deps.owner, job.taskId, job.channel, record, task.summary.attempt);
  // The mark's counts are the task's current ones, also for a redelivery of the last channel whose first delivery
  // crashed before completing: it completes the task then.
  if (mark.complete) await completeTaskOnce(deps.store, deps.publisher, job.taskId, deps.owner);
  const skipped = outcome === 'kept';
  return { url: stored.url, skipped, tailBytes: skipped ? 0 : plan.tail.length };
}
