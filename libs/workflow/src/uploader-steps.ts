import { planChannel, type ChannelPlan, type Digests, type PrefixDigests } from '@subpack/apk';
import { validateChannelStoreJob, type ChannelStoreJob } from '@subpack/contracts';
import { PermanentError, type Publisher, publishEvent, TransientError } from '@subpack/messaging';
import { nameValues, renderName } from '@subpack/pack';
import { isPackFormat, mergeExtras, type PackFormat } from '@subpack/rules';
import type { TaskStore, TaskSummary } from '@subpack/state';
import { StorageError, channelStoreRequest, openTarget, targetRoot, type ChannelTarget, type StoredObject, type TargetOptions } from '@subpack/storage';
import { ANNOUNCE_LEASE_MS, announceOnce, completeTaskOnce } from './completion';
import { now } from './events';
import type { MasterCache } from '@subpack/pack';
import { asPermanent } from './permanent';
import { checkRoots, type ServiceRoots } from './roots';

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

/** Why a channel job finds no task: the task was never accepted, or its state in Redis is gone. */
export function taskNotFoundReason(taskId: string): string {
  return `task ${JSON.stringify(taskId)} not found`;
}

/** The accepted task's recipe, or a permanent refusal: without it nothing may be written. */
function recipeOf(task: TaskSummary): { format: PackFormat; naming: string; extras: Record<string, string> } {
  const { format, naming, extras } = task;
  if (format === undefined || naming === undefined || extras === undefined || !isPackFormat(format)) {
    throw new PermanentError(`task ${JSON.stringify(task.taskId)} was recorded without its format, naming or extras; resend it`);
  }
  return { format, naming, extras };
}

/**
 * Writes one channel APK, records it, announces it, and completes the task when it was the last one. Every byte and
 * the file name are derived here from the task as accepted (Redis) and the master: the job only names the channel.
 * Every step is safe to repeat: a redelivered job finds the finished object, and channel.stored goes out once per
 * channel however many deliveries store it.
 */
export async function storeChannel(deps: UploaderDeps, body: unknown): Promise<{ url: string; skipped: boolean; tailBytes: number }> {
  const job = parseStoreJob(body);
  const task = await deps.store.getTaskSummary(job.taskId);
  if (!task) throw new PermanentError(taskNotFoundReason(job.taskId));
  const ownExtras = await deps.store.channelInputs(job.taskId, job.channel);
  if (ownExtras === null) throw new PermanentError(`channel ${JSON.stringify(job.channel)} is not part of task ${JSON.stringify(job.taskId)}`);
  const recipe = recipeOf(task);
  await checkRoots(deps.roots, task.master, task.target);
  const master = await deps.masters.get(task.master).catch(asPermanent);
  let derived: { plan: ChannelPlan; prefix: PrefixDigests; digests: Digests; name: string };
  try {
    const plan = planChannel(master.layout, recipe.format, { channel: job.channel, extras: mergeExtras(recipe.extras, ownExtras) });
    const prefix = await deps.masters.digestsFor(master, plan.prefixLength);
    const digests = prefix.withTail(plan.tail);
    derived = { plan, prefix, digests, name: renderName(recipe.naming, nameValues(master, job.channel, digests), targetRoot(task.target)) };
  } catch (err) {
    asPermanent(err);
  }
  const { plan, prefix, digests, name } = derived;
  if (job.sha256 !== undefined && digests.sha256 !== job.sha256) {
    throw new PermanentError(`channel ${JSON.stringify(job.channel)}: master ${task.master} changed since the task was planned (sha256 ${digests.sha256} != ${job.sha256})`);
  }
  let target: ChannelTarget;
  try {
    target = (deps.openTarget ?? openTarget)(task.target, { ...deps.targetOptions, compose: task.upload !== 'stream', roots: deps.roots.targets });
  } catch (err) {
    asPermanent(err);
  }
  const request = channelStoreRequest({ master: master.source, manifest: master.manifest, channel: job.channel, plan, name, prefix, digests });
  let stored: StoredObject | null;
  try {
    stored = await target.existing(request);
  } catch (err) {
    throw storeFailure(err, name, task.target);
  }
  const skipped = stored !== null;
  if (!stored) {
    try {
      stored = await target.store(request);
    } catch (err) {
      throw storeFailure(err, name, task.target);
    }
  }
  const record = { url: stored.url, bytes: plan.size, md5: digests.md5, sha256: digests.sha256 };
  const mark = await deps.store.markChannelStored(job.taskId, job.channel, record);
  const { store } = deps;
  await announceOnce(
    `channel.stored of ${JSON.stringify(job.channel)} in task ${JSON.stringify(job.taskId)}`,
    deps.owner,
    {
      claim: (owner) => store.claimChannelStored(job.taskId, job.channel, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseChannelStored(job.taskId, job.channel, owner),
      confirm: () => store.confirmChannelStored(job.taskId, job.channel),
    },
    () => publishEvent(deps.publisher, { type: 'channel.stored', taskId: job.taskId, channel: job.channel, ...record, at: now() }),
  );
  if (mark.complete) await completeTaskOnce(deps.store, deps.publisher, job.taskId, deps.owner);
  return { url: stored.url, skipped, tailBytes: skipped ? 0 : plan.tail.length };
}
