import { ApkError } from '@subpack/apk';
import { channelStoreMessageId, packBatchMessageId, packTaskFingerprint, validatePackBatch, validatePackTask, type ChannelStoreJob, type PackBatch, type PackTask } from '@subpack/contracts';
import { PermanentError, publishEvent, type Publisher } from '@subpack/messaging';
import { DEFAULT_NAMING, DEFAULT_PACK_FORMAT, EXCHANGES, isBadInput, ROUTING_KEYS } from '@subpack/rules';
import { planNamedChannel, preparePack, type CachedMaster, type MasterCache } from '@subpack/pack';
import type { TaskStore, TaskSummary } from '@subpack/state';
import { channelsOf, checkServable, loadAcceptedTask, openTask, prefixDigestsOf } from './accepted-task';
import { ANNOUNCE_LEASE_MS, announceOnce, failChannel } from './completion';
import { asPermanent } from './permanent';
import type { ServiceRoots } from './roots';
import { attemptField, now } from './events';
import { resentTaskNote } from './task-retry';

export interface PackerDeps {
  store: TaskStore;
  publisher: Publisher;
  masters: MasterCache;
  batchSize: number;
  /** This deployment's cap on channels per task (SUBPACK_MAX_CHANNELS); the rules' MAX_CHANNELS at most. */
  maxChannels: number;
  roots: ServiceRoots;
  /** Identifies this process in completion leases (a batch whose failed channels were the last ones completes the task). */
  owner: string;
}

/** The code a channel's failure is reported with: the APK error's own code, or BAD_CHANNEL for other bad input. */
function failureCode(err: Error): string {
  return err instanceof ApkError ? err.code : 'BAD_CHANNEL';
}

/** The reason a resend is refused when its taskId is already taken by other content. */
export function taskIdReusedReason(taskId: string): string {
  return `task id ${JSON.stringify(taskId)} already used for different content; send the new task under a new taskId`;
}

export function parseTask(body: unknown, maxChannels: number): PackTask {
  const result = validatePackTask(body, { maxChannels });
  if (!result.ok) throw new PermanentError(`invalid pack task: ${result.errors.join('; ')}`);
  return result.value;
}

/** What became of a task.pack: accepted (or re-split while running), or a resend of a finished task, with what to do. */
export interface AcceptOutcome {
  batches: number;
  resent: boolean;
  /** For a resend of a finished task: that it is not started again, and how to run it again (`subpack retry`). */
  note?: string;
}

/**
 * A new task: every check the old tool made plus the roots, format, naming and channel rules, then the task and each
 * channel's inputs are recorded (the recipe every later step reads) and the task is split into batches of channel ids
 * so several packers share it. A resend of a known task id with the same content does not start it again; one with
 * different content is refused and changes nothing.
 */
export async function acceptTask(deps: PackerDeps, body: unknown): Promise<AcceptOutcome> {
  const task = parseTask(body, deps.maxChannels);
  // Before anything is looked up: a scheme this deployment cannot serve is refused as it always was, first.
  checkServable(task);
  const fingerprint = packTaskFingerprint(task);
  const existing = await deps.store.getTaskSummary(task.taskId);
  if (existing?.fingerprint !== undefined && existing.fingerprint !== fingerprint) throw new PermanentError(taskIdReusedReason(task.taskId));
  // A finished task is never redone by a resend (`subpack retry` runs it again). A running one is re-split: after a
  // crash mid-split the missing batches must go out, and duplicates are harmless because every channel is stored
  // idempotently.
  if (existing && existing.status !== 'pending' && existing.status !== 'running') return resendOfFinished(deps, task.taskId, fingerprint, existing);
  // The id is claimed for this content, and the content kept for a retry, before anything else of the task is written.
  if ((await deps.store.reserveTask(task.taskId, fingerprint, JSON.stringify(task))) === 'conflict') throw new PermanentError(taskIdReusedReason(task.taskId));
  // Before the master is read: a task that fails on its master still reaches its own subscribers.
  if (task.notify !== undefined) await deps.store.saveSubscriptions(task.taskId, JSON.stringify(task.notify));
  const recipe = { format: task.format ?? DEFAULT_PACK_FORMAT, naming: task.naming ?? DEFAULT_NAMING, extras: task.extras ?? {} };
  const ids = task.channels.map((c) => c.id);
  const { master, root } = await openTask(deps, task);
  try {
    preparePack(master, task.channels.map((c) => ({ id: c.id, extras: c.extras ?? {} })), { ...recipe, root, maxChannels: deps.maxChannels });
  } catch (err) {
    asPermanent(err);
  }
  await deps.store.recordChannelInputs(task.taskId, task.channels);
  const batchCount = Math.ceil(ids.length / deps.batchSize);
  const m = master.manifest;
  const { state } = await deps.store.createTask(task.taskId, {
    total: ids.length,
    batches: batchCount,
    master: task.master,
    target: task.target,
    package: m.package,
    ...(m.versionName !== null ? { versionName: m.versionName } : {}),
    versionCode: m.versionCode,
    ...recipe,
    ...(task.upload ? { upload: task.upload } : {}),
    fingerprint,
  });
  // Cancelled between the look above and now (a redelivery of its task.pack): it is not started again.
  if (state.status === 'cancelled') return resendOfFinished(deps, task.taskId, fingerprint, state);
  await announceAccepted(deps, task.taskId, { total: ids.length, batches: batchCount, manifest: m, attempt: state.attempt });
  await handOnBatches(deps, task.taskId, ids, batchCount, state.attempt);
  return { batches: batchCount, resent: false };
}

/** A resend of a finished task: refused if the id belongs to other content, otherwise not started again, with a note. */
async function resendOfFinished(deps: PackerDeps, taskId: string, fingerprint: string, existing: TaskSummary): Promise<AcceptOutcome> {
  // A task that failed before it was accepted has only its reservation to say which content the id belongs to.
  const reserved = existing.fingerprint ?? (await deps.store.reservedFingerprint(taskId));
  if (reserved !== null && reserved !== fingerprint) throw new PermanentError(taskIdReusedReason(taskId));
  const note = resentTaskNote(taskId, existing.status);
  return { batches: existing.batches, resent: true, ...(note !== undefined ? { note } : {}) };
}

/** task.accepted, once per task however many packers accept it (announceOnce). */
async function announceAccepted(
  deps: PackerDeps,
  taskId: string,
  facts: { total: number; batches: number; manifest: CachedMaster['manifest']; attempt: number | undefined },
): Promise<void> {
  const { store } = deps;
  const m = facts.manifest;
  await announceOnce(
    `task.accepted of task ${JSON.stringify(taskId)}`,
    deps.owner,
    {
      claim: (owner) => store.claimAccepted(taskId, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseAccepted(taskId, owner),
      confirm: () => store.confirmAccepted(taskId),
    },
    () =>
      publishEvent(deps.publisher, {
        type: 'task.accepted',
        taskId,
        total: facts.total,
        batches: facts.batches,
        package: m.package,
        versionName: m.versionName ?? '',
        versionCode: m.versionCode,
        ...attemptField(facts.attempt),
        at: now(),
      }),
  );
}

/** One pack.batch per batch of channel ids; a batch already planned has handed all its channels on and is skipped. */
async function handOnBatches(deps: PackerDeps, taskId: string, ids: readonly string[], batchCount: number, attempt: number | undefined): Promise<void> {
  const planned = await deps.store.plannedBatches(taskId);
  for (let index = 0; index < batchCount; index++) {
    if (planned.has(index)) continue;
    const batch: PackBatch = { taskId, batch: { index, count: batchCount }, channels: ids.slice(index * deps.batchSize, (index + 1) * deps.batchSize) };
    await deps.publisher.publish(EXCHANGES.main, ROUTING_KEYS.packBatch, batch, { messageId: packBatchMessageId(taskId, index, attempt) });
  }
}

function parseBatch(body: unknown): PackBatch {
  const parsed = validatePackBatch(body);
  if (!parsed.ok) throw new PermanentError(`invalid pack batch: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

/**
 * Plans every channel a batch names, from the task as accepted (the batch carries ids only), and hands each to the
 * uploader by name with the digest it must arrive at. A batch naming a channel the task does not have, or split
 * otherwise than the task was, is refused whole and writes nothing. A channel that cannot be planned or named (bad
 * input for that channel alone) is counted failed with its reason and the others carry on, as in the CLI; anything
 * else fails the batch, which is retried whole (every step is idempotent).
 */
export async function planBatch(deps: PackerDeps, body: unknown): Promise<{ planned: number; failed: number }> {
  const batch = parseBatch(body);
  const summary = await deps.store.getTaskSummary(batch.taskId);
  // Before the master is opened: a cancelled task plans nothing, and its master may be gone already.
  if (summary?.status === 'cancelled') return { planned: 0, failed: 0 };
  const task = await loadAcceptedTask(deps, batch.taskId, summary);
  if (batch.batch.count !== task.summary.batches) {
    throw new PermanentError(`batch ${batch.batch.index} of ${batch.batch.count} does not match task ${JSON.stringify(batch.taskId)}, split into ${task.summary.batches}`);
  }
  const channels = await channelsOf(deps, batch.taskId, batch.channels);
  const prefix = await prefixDigestsOf(deps, task);
  const failures: { channel: string; error: { code: string; message: string } }[] = [];
  const handedOn: Promise<void>[] = [];
  for (const channel of channels) {
    let job: ChannelStoreJob;
    try {
      // The uploader plans and names the channel again (it needs the bytes); planning here fails a bad one early, alone.
      const { digests } = planNamedChannel(task.master, task.recipe, channel, task.root, prefix);
      job = { taskId: batch.taskId, channel: channel.id, batchIndex: batch.batch.index, sha256: digests.sha256 };
    } catch (err) {
      if (!isBadInput(err)) throw err;
      failures.push({ channel: channel.id, error: { code: failureCode(err), message: err.message } });
      continue;
    }
    // Confirms are awaited together: one round trip to the broker per batch, not per channel.
    handedOn.push(deps.publisher.publish(EXCHANGES.main, ROUTING_KEYS.channelStore, job, { messageId: channelStoreMessageId(batch.taskId, channel.id, task.summary.attempt) }));
  }
  await Promise.all(handedOn);
  // Failures are recorded after the good channels are handed on, so a failure that completes the task comes last.
  for (const failure of failures) await failChannel(deps.store, deps.publisher, deps.owner, { taskId: batch.taskId, attempt: task.summary.attempt, ...failure });
  await deps.store.markBatchPlanned(batch.taskId, batch.batch.index);
  return { planned: handedOn.length, failed: failures.length };
}
