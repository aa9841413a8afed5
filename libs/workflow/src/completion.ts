import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, TransientError, type BackoffPolicy, type Publisher, publishEvent } from '@subpack/messaging';
import { ALL_CHANNELS_FAILED, type ClaimResult, type TaskStore } from '@subpack/state';
import { attemptField, now } from './events';

/** How long a claimant may take to publish an event and see the broker's confirm before another may take over. */
export const ANNOUNCE_LEASE_MS = 30_000;

/**
 * Longest a delivery waits for another's lease on the same event. Every lease is ANNOUNCE_LEASE_MS at most, so only a
 * holder's clock running far ahead of Redis's could make the wait end before the lease does.
 */
const LEASE_WAIT_LIMIT_MS = ANNOUNCE_LEASE_MS + 5_000;
/** Pauses between looks at a held lease: short at first (a live holder confirms within milliseconds), at most 1 s. */
const LEASE_POLL: BackoffPolicy = { initialDelayMs: 25, maxDelayMs: 1_000, factor: 2, jitter: 0.2 };

/** Distinct failure reasons a task.failed summary names; the rest are counted. */
const SUMMARY_REASONS = 5;
/** Characters of each reason's first message in the summary; the schema caps the whole message at 4096. */
const SUMMARY_MESSAGE_CHARS = 400;

/**
 * Each call claims as its own lease holder: handlers running side by side in one process are different claimants, so
 * exactly one of them wins the single atomic claim (a per-process owner would let all of them re-claim its lease).
 */
function claimant(owner: string): string {
  return `${owner}/${randomUUID()}`;
}

interface AnnounceGuard {
  claim(owner: string): Promise<ClaimResult>;
  release(owner: string): Promise<unknown>;
  confirm(): Promise<unknown>;
}

export type AnnounceResult = 'published' | 'already-sent';

/**
 * Publishes an event once per state change, however many deliveries reach this point: whoever claims the lease
 * publishes and, after the broker's confirm, marks it sent. A delivery that finds the lease held by another waits for
 * that holder, here and not in the retry tiers: a live holder confirms within moments (nothing left to do), and a
 * crashed one's lease runs out within ANNOUNCE_LEASE_MS, after which this delivery publishes. Handing the message back
 * instead would let a short retry schedule park the only delivery that could take over, and with it the task's
 * completion.
 */
export async function announceOnce(what: string, processOwner: string, guard: AnnounceGuard, publish: () => Promise<void>): Promise<AnnounceResult> {
  const owner = claimant(processOwner);
  if ((await claimWhenFree(what, owner, guard)) === 'already-sent') return 'already-sent';
  try {
    await publish();
  } catch (err) {
    await guard.release(owner).catch(() => undefined);
    throw err;
  }
  await guard.confirm();
  return 'published';
}

async function claimWhenFree(what: string, owner: string, guard: AnnounceGuard): Promise<'claimed' | 'already-sent'> {
  const deadline = Date.now() + LEASE_WAIT_LIMIT_MS;
  for (let look = 1; ; look++) {
    const claim = await guard.claim(owner);
    if (claim !== 'held-by-other') return claim;
    const pause = backoffDelay(look, LEASE_POLL);
    if (Date.now() + pause > deadline) {
      throw new TransientError(`${what} is still being published by another delivery after ${LEASE_WAIT_LIMIT_MS / 1000} s; checking again later`);
    }
    await sleep(pause);
  }
}

/** What a channel.stored event says about the stored object (the channel's record in Redis holds the same). */
export interface StoredChannelFacts {
  url: string;
  bytes: number;
  md5: string;
  sha256: string;
}

/**
 * Publishes a channel's channel.stored once per run of its task (`attempt`), however many deliveries (and completion
 * sweeps) reach this point.
 */
export function announceChannelStored(
  store: TaskStore,
  publisher: Publisher,
  processOwner: string,
  taskId: string,
  channel: string,
  facts: StoredChannelFacts,
  attempt: number | undefined,
): Promise<AnnounceResult> {
  return announceOnce(
    `channel.stored of ${JSON.stringify(channel)} in task ${JSON.stringify(taskId)}`,
    processOwner,
    {
      claim: (owner) => store.claimChannelStored(taskId, channel, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseChannelStored(taskId, channel, owner),
      confirm: () => store.confirmChannelStored(taskId, channel),
    },
    () => publishEvent(publisher, { type: 'channel.stored', taskId, channel, ...facts, ...attemptField(attempt), at: now() }),
  );
}

/**
 * Announces every stored channel whose channel.stored has not gone out. Recording a channel and announcing it are two
 * steps: a delivery that recorded it can fail before announcing (its retries may run out while Redis fails over, and
 * a later failure never replaces a stored record), so the completion makes sure no stored channel goes unannounced.
 * A channel another delivery is announcing right now is waited for (announceOnce), so task.completed comes last.
 */
export async function announceStoredChannels(
  store: TaskStore,
  publisher: Publisher,
  taskId: string,
  processOwner: string,
  attempt?: number,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await store.listChannels(taskId, cursor === undefined ? {} : { cursor });
    const stored = page.channels.filter((entry) => entry.status === 'stored');
    const pending = await store.unannouncedChannels(taskId, stored.map((entry) => entry.channel));
    for (const entry of stored) {
      if (!pending.has(entry.channel)) continue;
      const { url, bytes, md5, sha256 } = entry;
      if (url === undefined || bytes === undefined || md5 === undefined || sha256 === undefined) {
        throw new TransientError(`channel ${JSON.stringify(entry.channel)} of task ${JSON.stringify(taskId)} is recorded stored without its object's facts`);
      }
      await announceChannelStored(store, publisher, processOwner, taskId, entry.channel, { url, bytes, md5, sha256 }, attempt);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/**
 * The task.failed reason of a task none of whose channels was stored: how many failed, grouped by code, with the first
 * message of each code, so an alert on task.failed says why without a look at every channel.failed.
 */
export async function channelFailureSummary(store: TaskStore, taskId: string, failed: number): Promise<{ code: string; message: string }> {
  const reasons = new Map<string, { count: number; first: string }>();
  let cursor: string | undefined;
  do {
    const page = await store.listChannels(taskId, cursor === undefined ? {} : { cursor });
    for (const entry of page.channels) {
      if (entry.status !== 'failed') continue;
      const code = entry.error?.code ?? 'UNKNOWN';
      const reason = reasons.get(code);
      if (reason) reason.count++;
      else reasons.set(code, { count: 1, first: entry.error?.message ?? 'no reason recorded' });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  const ranked = [...reasons].sort((a, b) => b[1].count - a[1].count);
  const named = ranked.slice(0, SUMMARY_REASONS).map(([code, r]) => `${r.count} ${code} (e.g. ${clip(r.first, SUMMARY_MESSAGE_CHARS)})`);
  const others = ranked.slice(SUMMARY_REASONS).reduce((sum, [, r]) => sum + r.count, 0);
  if (others > 0) named.push(`${others} with other reasons`);
  const noun = failed === 1 ? 'channel' : 'channels';
  return { code: ALL_CHANNELS_FAILED, message: clip(`no channel was stored; ${failed} ${noun} failed: ${named.join('; ')}`, 4096) };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Emits task.completed once the last channel is accounted for (before that it does nothing). The lease makes
 * concurrent finishers (and redeliveries) agree on one publisher; the event is confirmed by the broker before the
 * state says "sent". Call it after every channel's outcome, including on redelivery: a finisher that crashed before
 * publishing is covered that way.
 */
export async function completeTaskOnce(store: TaskStore, publisher: Publisher, taskId: string, processOwner: string): Promise<boolean> {
  const before = await store.getTaskSummary(taskId);
  if (!before || before.done + before.failed < before.total) return false;
  // A cancel is refused once every channel is accounted for, so a task cancelled before that point stays cancelled:
  // the writes it let finish may account for the last channels, and that completes nothing.
  if (before.status === 'cancelled') return false;
  // Nothing to hand out: the task failed, and says why where alerting looks (task.failed), not as a "partial" success.
  if (before.done === 0 && before.failed > 0 && before.failed >= before.total) {
    await failTaskOnce(store, publisher, taskId, await channelFailureSummary(store, taskId, before.failed), processOwner);
    return false;
  }
  if (before.done > 0 && !(await store.completionAnnounced(taskId))) await announceStoredChannels(store, publisher, taskId, processOwner, before.attempt);
  const result = await announceOnce(
    `task.completed of task ${JSON.stringify(taskId)}`,
    processOwner,
    {
      claim: (owner) => store.claimCompletion(taskId, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseCompletion(taskId, owner),
      confirm: () => store.confirmCompletion(taskId),
    },
    async () => {
      const summary = await store.getTaskSummary(taskId);
      if (!summary) throw new TransientError(`task ${JSON.stringify(taskId)} disappeared from Redis while it was being completed`);
      await publishEvent(publisher, {
        type: 'task.completed',
        taskId,
        status: summary.failed > 0 ? 'partial' : 'done',
        total: summary.total,
        done: summary.done,
        written: summary.done - summary.kept,
        kept: summary.kept,
        failed: summary.failed,
        ...attemptField(summary.attempt),
        at: now(),
      });
    },
  );
  return result === 'published';
}

/** Marks the task failed and emits one task.failed event with the reason. */
export async function failTaskOnce(
  store: TaskStore,
  publisher: Publisher,
  taskId: string,
  error: { code: string; message: string },
  processOwner: string,
): Promise<void> {
  const { status } = await store.failTask(taskId, error);
  if (status !== 'failed') return;
  await announceOnce(
    `task.failed of task ${JSON.stringify(taskId)}`,
    processOwner,
    {
      claim: (owner) => store.claimTaskFailed(taskId, owner, ANNOUNCE_LEASE_MS),
      release: (owner) => store.releaseTaskFailed(taskId, owner),
      confirm: () => store.confirmTaskFailed(taskId),
    },
    async () => {
      const attempt = (await store.getTaskSummary(taskId))?.attempt;
      await publishEvent(publisher, { type: 'task.failed', taskId, error, ...attemptField(attempt), at: now() });
    },
  );
}

/**
 * Counts one channel as failed with its reason, announces it, and completes the task when that channel was the last
 * one outstanding. Safe to repeat: the mark is idempotent. Only a first failure is announced: a channel already stored
 * stays stored, and a stray message for it (a forged or duplicate one) must not report it failed.
 */
export async function failChannel(
  store: TaskStore,
  publisher: Publisher,
  owner: string,
  failure: { taskId: string; channel: string; error: { code: string; message: string }; attempt?: number; deliveries?: number },
): Promise<void> {
  const { taskId, channel, error } = failure;
  const mark = await store.markChannelFailed(taskId, channel, error, failure.deliveries);
  if (mark.firstTime) await publishEvent(publisher, { type: 'channel.failed', taskId, channel, error, ...attemptField(failure.attempt), at: now() });
  if (mark.complete) await completeTaskOnce(store, publisher, taskId, owner);
}
