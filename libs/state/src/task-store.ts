import type Redis from 'ioredis';
import { InvalidArgumentError, ReplicationError, TaskNotCompleteError, TaskNotFoundError } from './errors';
import {
  BEGIN_WRITE,
  CANCEL_TASK,
  CLAIM_CHANNEL_EVENT,
  CLAIM_EVENT,
  CONFIRM_CHANNEL_EVENT,
  CONFIRM_COMPLETION,
  CONFIRM_EVENT,
  CREATE_TASK,
  FAIL_TASK,
  MARK_BATCH_PLANNED,
  MARK_CHANNEL,
  RELEASE_CHANNEL_EVENT,
  RELEASE_EVENT,
  MARK_STALLED,
  SAVE_SUBSCRIPTIONS,
  RESERVE_TASK,
  RETRY_TASK,
  WRITES_UNDER_WAY,
} from './lua-scripts';
import { execResults, pairsToMap, parseJsonField, replyArray, replyInteger, replyString } from './redis-reply';
import { decodeChannelRecord, decodeExtras, decodeTaskSummary, encodeChannelRecord, encodeNewTask } from './task-codec';
import { allTaskKeys, taskKeys, type TaskKeys } from './task-keys';
import type {
  CancelTaskOptions,
  CancelTaskResult,
  ChannelEntry,
  ChannelMarkResult,
  ChannelPage,
  ChannelRecord,
  ChannelStatus,
  ChannelWriteStart,
  ClaimResult,
  ConfirmCompletionResult,
  CreateTaskResult,
  FailTaskResult,
  ReserveResult,
  RetryReset,
  RetryableStatus,
  StallMark,
  StoredChannel,
  TaskError,
  TaskIdPage,
  TaskMeta,
  TaskState,
  TaskStatus,
  TaskSummary,
} from './types';

export interface TaskStoreOptions {
  /** Prepended to every key. Default 'subpack:'. */
  keyPrefix?: string;
  /** TTL applied to all of a task's keys once it is done/partial/failed. Default 7 days. */
  finishedTtlSeconds?: number;
  /**
   * TTL given to a task when it is created, so a task abandoned half-way does not stay in Redis forever. Keys created
   * later inherit the task's remaining TTL. 0 disables it. Default 30 days.
   */
  activeTtlSeconds?: number;
  /**
   * Replicas that must hold a write that decides an outcome (a reservation, a stored mark, a claim) before the call
   * returns, checked with WAIT. Redis replicates asynchronously: without it, a primary that dies right after answering
   * can take an acknowledged write with it, and the replica promoted in its place lets the same outcome happen twice.
   * 0 (default) for a single Redis server. When fewer replicas confirm within `replicationTimeoutMs` and the primary
   * still has replicas connected, the call throws ReplicationError (the caller retries later; the write is
   * idempotent); a primary with no replica left has nothing to fail over to and carries on alone.
   */
  replicas?: number;
  /** How long WAIT may take. Default 1000 ms. */
  replicationTimeoutMs?: number;
}

const DAY_SECONDS = 24 * 60 * 60;
/** How often a primary found without replicas is asked again whether one has connected. */
const ALONE_RECHECK_MS = 1000;
/** The error code of a task that failed because none of its channels could be stored. */
export const ALL_CHANNELS_FAILED = 'ALL_CHANNELS_FAILED';
/** Channels per HSET when recording inputs: keeps each command well below Redis's argument limits. */
const INPUTS_CHUNK = 1000;
type EventGuard = 'completedEvent' | 'failedEvent' | 'acceptedEvent' | 'cancelledEvent';
/** Longest cancelledBy / cancelReason kept: they are shown to people, not archived. */
const CANCEL_TEXT_MAX = 1000;

/**
 * Task state, idempotency markers and the exactly-once guards for task events, in Redis.
 *
 * Keys (prefix 'subpack:' by default): `task:{<id>}` hash, `task:{<id>}:channels` hash,
 * `task:{<id>}:event:completed|failed|accepted|cancelled` guards, `task:{<id>}:event:stored` per-channel guards,
 * `task:{<id>}:batches` set, `task:{<id>}:content` (the task as sent), `task:{<id>}:writes` (writes under way),
 * `once:<key>` generic markers, and two indexes outside the tasks' hash slots: `active-tasks` (stall detection) and
 * `tasks` (every task by creation time, for listing).
 */
export class TaskStore {
  readonly keyPrefix: string;
  readonly finishedTtlSeconds: number;
  readonly activeTtlSeconds: number;
  private readonly replicas: number;
  private readonly replicationTimeoutMs: number;
  /** When ROLE last showed this primary without a connected replica (WAIT is skipped until the next check). */
  private aloneSince: number | undefined;

  constructor(
    private readonly redis: Redis,
    options: TaskStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'subpack:';
    this.finishedTtlSeconds = positiveInteger('finishedTtlSeconds', options.finishedTtlSeconds ?? 7 * DAY_SECONDS);
    this.activeTtlSeconds = options.activeTtlSeconds ?? 30 * DAY_SECONDS;
    this.replicas = options.replicas ?? 0;
    this.replicationTimeoutMs = options.replicationTimeoutMs ?? 1000;
    if (!Number.isSafeInteger(this.activeTtlSeconds) || this.activeTtlSeconds < 0) {
      throw new InvalidArgumentError(`activeTtlSeconds must be a non-negative integer, got ${this.activeTtlSeconds}`);
    }
  }

  keysOf(taskId: string): TaskKeys {
    return taskKeys(this.keyPrefix, taskId);
  }

  /**
   * Claims the task id for content with this fingerprint, before anything else of the task is written: 'reserved' or
   * 'same' (go on: record the inputs, then the task), or 'conflict' (the id belongs to different content; write
   * nothing). Two different tasks sent at once with one id cannot both get through. `content` (the task as sent) is
   * kept with the reservation for a later retry.
   */
  async reserveTask(taskId: string, fingerprint: string, content: string): Promise<ReserveResult> {
    if (fingerprint.length === 0) throw new InvalidArgumentError('reserveTask: fingerprint must not be empty');
    const keys = this.keysOf(taskId);
    const ttlMs = (this.activeTtlSeconds || this.finishedTtlSeconds) * 1000;
    const result = replyString(
      await RESERVE_TASK.run(this.redis, [keys.task, keys.fingerprint, keys.content], [fingerprint, ttlMs, content]),
      'reserveTask',
    ) as ReserveResult;
    await this.replicated('reserveTask');
    return result;
  }

  /** The fingerprint the task id is reserved for, or null (never reserved, or expired). */
  async reservedFingerprint(taskId: string): Promise<string | null> {
    return this.redis.get(this.keysOf(taskId).fingerprint);
  }

  /** The task as it was sent (the JSON given to reserveTask), or null when none was recorded. */
  async taskContent(taskId: string): Promise<string | null> {
    return this.redis.get(this.keysOf(taskId).content);
  }

  /**
   * Starts the next run of a failed or partial task, atomically: the attempt goes up by one, progress and the
   * once-only event guards are cleared, and the task is pending again (see RETRY_TASK). Refuses, changing nothing, a
   * task that is unknown, still running, done, cancelled (unless `allowCancelled`: only a person's explicit retry may
   * bring a cancelled task back), or (with `requireContent`, the default) has no recorded content.
   */
  async resetForRetry(taskId: string, options: { requireContent?: boolean; allowCancelled?: boolean } = {}): Promise<RetryReset> {
    const operation = 'resetForRetry';
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await RETRY_TASK.run(this.redis, allTaskKeys(keys), [
        this.activeTtlSeconds * 1000,
        nowIso(),
        options.requireContent === false ? '0' : '1',
        options.allowCancelled === true ? '1' : '0',
      ]),
      operation,
    );
    const head = replyString(reply[0], operation);
    if (head === 'running') return { outcome: 'running', status: replyString(reply[1], operation) as TaskStatus };
    if (head !== 'reset') return { outcome: head as 'no-task' | 'done' | 'cancelled' | 'no-content' };
    await this.noteProgress(taskId);
    await this.replicated(operation);
    return { outcome: 'reset', attempt: replyInteger(reply[1], operation), previous: replyString(reply[2], operation) as RetryableStatus };
  }

  /**
   * Records each channel's own extras (channel id -> JSON), in pipelined chunks so 10,000 channels stay one round
   * trip per chunk. Idempotent for the same content; call after reserveTask and before createTask, so a channel job
   * never finds its task without its inputs.
   */
  async recordChannelInputs(taskId: string, channels: readonly { id: string; extras?: Record<string, string> }[]): Promise<void> {
    const keys = this.keysOf(taskId);
    const ttlMs = (this.activeTtlSeconds || this.finishedTtlSeconds) * 1000;
    const pipeline = this.redis.pipeline();
    for (let start = 0; start < channels.length; start += INPUTS_CHUNK) {
      const fields = channels.slice(start, start + INPUTS_CHUNK).flatMap((c) => [c.id, JSON.stringify(c.extras ?? {})]);
      pipeline.hset(keys.inputs, ...fields);
    }
    pipeline.pexpire(keys.inputs, ttlMs);
    execResults(await pipeline.exec(), 'recordChannelInputs');
  }

  /** The channel's own extras as accepted, or null when the channel is not part of the task. */
  async channelInputs(taskId: string, channel: string): Promise<Record<string, string> | null> {
    const [extras] = await this.channelInputsOf(taskId, [channel]);
    return extras ?? null;
  }

  /** The same for several channels in one round trip, in the order asked. */
  async channelInputsOf(taskId: string, channels: readonly string[]): Promise<(Record<string, string> | null)[]> {
    const key = this.keysOf(taskId).inputs;
    const raws = channels.length === 0 ? [] : await this.redis.hmget(key, ...channels);
    return raws.map((raw, i) => (raw === null ? null : decodeExtras(key, channels[i]!, parseJsonField(key, channels[i]!, raw))));
  }

  /**
   * Records a new task. Idempotent: when the id already exists (a resent task.pack, a redelivery) nothing is changed
   * and the existing state is returned with created=false, so counters are never reset.
   */
  async createTask(taskId: string, meta: TaskMeta): Promise<CreateTaskResult> {
    validateMeta(meta);
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await CREATE_TASK.run(this.redis, [keys.task], [
        this.activeTtlSeconds * 1000,
        ...encodeNewTask(taskId, meta, nowIso()),
      ]),
      'createTask',
    );
    const created = replyInteger(reply[0], 'createTask') === 1;
    const hash = pairsToMap(replyArray(reply[1], 'createTask'), 'createTask');
    const state = decodeTaskSummary(keys.task, hash);
    if (created) {
      await this.noteProgress(taskId);
      await this.redis.zadd(this.indexKey, Date.parse(state.createdAt), taskId);
    }
    await this.replicated('createTask');
    return { created, state };
  }

  /*
   * The task index: every task id in one sorted set scored by its creation time (ms), so tasks can be listed newest
   * first without a SCAN over the keyspace. Like active-tasks it lives outside the tasks' hash slots and is written
   * next to the scripts, not in them; a task that expired (finished TTL) leaves its id behind, and listTaskIds drops
   * such ids when it meets them.
   */

  private get indexKey(): string {
    return `${this.keyPrefix}tasks`;
  }

  /**
   * Task ids newest first, at most about `limit` per page, each with its score (creation time in ms). `before` (a
   * score, exclusive) continues from the previous page's nextBefore. A page never ends inside a run of equal scores:
   * such a run is returned whole, so cursoring by score skips nothing.
   */
  async listTaskIds(page: { before?: number; limit: number }): Promise<TaskIdPage> {
    const limit = positiveInteger('limit', page.limit);
    if (page.before !== undefined && !Number.isFinite(page.before)) throw new InvalidArgumentError(`listTaskIds: before must be a number, got ${page.before}`);
    const tasks: { taskId: string; score: number }[] = [];
    let max = page.before === undefined ? '+inf' : `(${page.before}`;
    let exhausted = false;
    while (tasks.length < limit && !exhausted) {
      const want = limit - tasks.length;
      const flat = await this.redis.zrevrangebyscore(this.indexKey, max, '-inf', 'WITHSCORES', 'LIMIT', 0, want);
      const found = [...pairsToMap(flat, 'listTaskIds')].map(([taskId, score]) => ({ taskId, score: Number(score) }));
      exhausted = found.length < want;
      const last = found[found.length - 1];
      if (last === undefined) break;
      // Ties at the page's edge come whole, so the next query can start strictly below this score.
      const seen = new Set(found.map((t) => t.taskId));
      const ties = await this.redis.zrangebyscore(this.indexKey, last.score, last.score);
      for (const taskId of ties.sort().reverse()) if (!seen.has(taskId)) found.push({ taskId, score: last.score });
      tasks.push(...(await this.dropExpired(found)));
      max = `(${last.score}`;
    }
    const oldest = tasks[tasks.length - 1];
    return { tasks, nextBefore: exhausted || oldest === undefined ? null : oldest.score };
  }

  /** The index entries whose task still exists; the others are removed from the index. */
  private async dropExpired(entries: readonly { taskId: string; score: number }[]): Promise<{ taskId: string; score: number }[]> {
    const pipeline = this.redis.pipeline();
    for (const { taskId } of entries) pipeline.exists(this.keysOf(taskId).task);
    const present = execResults(await pipeline.exec(), 'listTaskIds').map((n) => n === 1);
    const gone = entries.filter((_, i) => !present[i]).map((e) => e.taskId);
    if (gone.length > 0) await this.redis.zrem(this.indexKey, ...gone);
    return entries.filter((_, i) => present[i]);
  }

  /** The task without its channel records; cheap for tasks with many channels. */
  async getTaskSummary(taskId: string): Promise<TaskSummary | null> {
    const key = this.keysOf(taskId).task;
    const hash = await this.redis.hgetall(key);
    return Object.keys(hash).length === 0 ? null : decodeTaskSummary(key, new Map(Object.entries(hash)));
  }

  /** Several summaries in one round trip (null for a task that does not exist), in the order asked. */
  async getTaskSummaries(taskIds: readonly string[]): Promise<(TaskSummary | null)[]> {
    if (taskIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const keys = taskIds.map((id) => this.keysOf(id).task);
    for (const key of keys) pipeline.hgetall(key);
    const hashes = execResults(await pipeline.exec(), 'getTaskSummaries') as Record<string, string>[];
    return hashes.map((hash, i) => (Object.keys(hash).length === 0 ? null : decodeTaskSummary(keys[i]!, new Map(Object.entries(hash)))));
  }

  /** The task with every channel record (read atomically). For very large tasks prefer listChannels. */
  async getTask(taskId: string): Promise<TaskState | null> {
    const keys = this.keysOf(taskId);
    const [taskHash, channelHash] = execResults(
      await this.redis.multi().hgetall(keys.task).hgetall(keys.channels).exec(),
      'getTask',
    ) as [Record<string, string>, Record<string, string>];
    if (Object.keys(taskHash).length === 0) return null;
    const summary = decodeTaskSummary(keys.task, new Map(Object.entries(taskHash)));
    // Object.fromEntries defines own properties, so a channel called "__proto__" stays an ordinary entry.
    const channels = Object.fromEntries(
      Object.entries(channelHash).map(([channel, raw]) => [channel, decodeChannelRecord(keys.channels, channel, raw)]),
    );
    return { ...summary, channels };
  }

  /**
   * One page of channel records (HSCAN). Start with no cursor; continue while nextCursor is not null. As with any
   * Redis SCAN, a channel written during the scan may be returned twice or not at all.
   */
  async listChannels(taskId: string, page: { cursor?: string; count?: number; containing?: string } = {}): Promise<ChannelPage> {
    const key = this.keysOf(taskId).channels;
    const count = positiveInteger('count', page.count ?? 500);
    const [cursor, flat] =
      page.containing === undefined || page.containing === ''
        ? await this.redis.hscan(key, page.cursor ?? '0', 'COUNT', count)
        : // Redis filters the scan itself: glob characters in the text are escaped, so it is matched as written.
          await this.redis.hscan(key, page.cursor ?? '0', 'MATCH', `*${page.containing.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', count);
    const channels: ChannelEntry[] = [...pairsToMap(flat, 'listChannels')].map(([channel, raw]) => ({
      channel,
      ...decodeChannelRecord(key, channel, raw),
    }));
    return { channels, nextCursor: cursor === '0' ? null : cursor };
  }

  /** One channel's record, or null when the channel has none (yet). */
  async channelRecord(taskId: string, channel: string): Promise<ChannelEntry | null> {
    const key = this.keysOf(taskId).channels;
    const raw = await this.redis.hget(key, channel);
    return raw === null ? null : { channel, ...decodeChannelRecord(key, channel, raw) };
  }

  /**
   * Records that a channel's APK is stored. The first record counts it as done; a redelivery changes nothing
   * (firstTime=false); a channel that had failed moves from failed to done (replacedFailure=true).
   */
  async markChannelStored(taskId: string, channel: string, stored: StoredChannel): Promise<ChannelMarkResult> {
    if (!Number.isSafeInteger(stored.bytes) || stored.bytes < 0) {
      throw new InvalidArgumentError(`markChannelStored: bytes must be a non-negative integer, got ${stored.bytes}`);
    }
    const record: ChannelRecord = {
      status: 'stored',
      url: stored.url,
      bytes: stored.bytes,
      md5: stored.md5,
      sha256: stored.sha256,
      ...(stored.kept ? { kept: true } : {}),
      ...(stored.attempts !== undefined ? { attempts: stored.attempts } : {}),
      at: nowIso(),
    };
    return this.markChannel('markChannelStored', taskId, channel, record);
  }

  /** Records that a channel failed for good. Counted once; ignored if the channel is already stored or failed. */
  async markChannelFailed(taskId: string, channel: string, error: TaskError, attempts?: number): Promise<ChannelMarkResult> {
    const record: ChannelRecord = { status: 'failed', error: { code: error.code, message: error.message }, ...(attempts !== undefined ? { attempts } : {}), at: nowIso() };
    return this.markChannel('markChannelFailed', taskId, channel, record);
  }

  private async markChannel(
    operation: string,
    taskId: string,
    channel: string,
    record: ChannelRecord,
  ): Promise<ChannelMarkResult> {
    if (channel.length === 0) throw new InvalidArgumentError(`${operation}: channel must not be empty`);
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await MARK_CHANNEL.run(this.redis, [keys.task, keys.channels, keys.writes], [
        channel,
        record.status,
        encodeChannelRecord(record),
        record.at,
        ALL_CHANNELS_FAILED,
        record.kept ? '1' : '0',
      ]),
      operation,
    );
    if (replyInteger(reply[0], operation) === -1) throw new TaskNotFoundError(taskId, operation);
    const firstTime = replyInteger(reply[0], operation) === 1;
    const replacedFailure = replyInteger(reply[1], operation) === 1;
    const done = replyInteger(reply[2], operation);
    const failed = replyInteger(reply[3], operation);
    const total = replyInteger(reply[4], operation);
    const status = replyString(reply[5], operation) as TaskStatus;
    const channelStatus = replyString(reply[6], operation);
    const complete = done + failed >= total;
    // A cancelled task is finished: progress must not put it back among the tasks watched for stalls.
    if (firstTime && !complete && status !== 'cancelled') await this.noteProgress(taskId);
    await this.replicated(operation);
    return {
      firstTime,
      replacedFailure,
      done,
      failed,
      total,
      complete,
      // A replay moves a channel between counters without changing done + failed, so it never "completes" a task.
      justCompleted: firstTime && !replacedFailure && done + failed === total && status !== 'failed' && status !== 'cancelled',
      status,
      channelStatus: channelStatus === '' ? null : (channelStatus as ChannelStatus),
    };
  }

  /**
   * Cancels a pending or running task, atomically (see CANCEL_TASK): it ends `cancelled` with finishedAt (and who and
   * why, when given) and its keys take the finished TTL. Channels already stored keep their records; from now on no
   * channel is recorded, except the outcome of a write already under way (beginChannelWrite), which the caller waits
   * for with writesUnderWay. A finished task is left alone and its status returned; so is one whose channels are all
   * accounted for (its completion is under way). Announce task.cancelled with claimTaskCancelled/confirmTaskCancelled
   * whenever the outcome is 'cancelled' or 'already-cancelled' (an earlier call may have crashed before announcing).
   */
  async cancelTask(taskId: string, options: CancelTaskOptions = {}): Promise<CancelTaskResult> {
    const operation = 'cancelTask';
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await CANCEL_TASK.run(this.redis, allTaskKeys(keys), [
        nowIso(),
        this.finishedTtlSeconds,
        (options.by ?? '').slice(0, CANCEL_TEXT_MAX),
        (options.reason ?? '').slice(0, CANCEL_TEXT_MAX),
      ]),
      operation,
    );
    const outcome = replyString(reply[0], operation);
    if (outcome === 'no-task') return { outcome };
    if (outcome === 'cancelled') {
      await this.redis.zrem(this.activeKey, taskId);
      await this.replicated(operation);
    }
    return {
      outcome: outcome as 'cancelled' | 'already-cancelled' | 'finished' | 'completing',
      status: replyString(reply[1], operation) as TaskStatus,
      done: replyInteger(reply[2], operation),
      failed: replyInteger(reply[3], operation),
      total: replyInteger(reply[4], operation),
    };
  }

  /*
   * Writes under way. A channel's object is written to the target before its record is made in Redis, so a cancel
   * can arrive while a write is in flight. The uploader registers each write just before it starts (refused once the
   * task is cancelled) and the mark ends it; the cancel waits for the registered writes, whose outcomes are still
   * recorded, so that when it reports, the records match what is in the target and nothing more is written. A lease
   * bounds the wait for a writer that crashed.
   */

  /** Registers a write of `channel` for up to leaseMs: 'go', or 'cancelled' (write nothing), or 'no-task'. */
  async beginChannelWrite(taskId: string, channel: string, leaseMs: number): Promise<ChannelWriteStart> {
    const operation = 'beginChannelWrite';
    if (channel.length === 0) throw new InvalidArgumentError(`${operation}: channel must not be empty`);
    positiveInteger('leaseMs', leaseMs);
    const keys = this.keysOf(taskId);
    return replyString(await BEGIN_WRITE.run(this.redis, [keys.task, keys.writes], [channel, leaseMs]), operation) as ChannelWriteStart;
  }

  /** Ends a registered write that failed (one that succeeded ends with its mark). */
  async endChannelWrite(taskId: string, channel: string): Promise<void> {
    await this.redis.hdel(this.keysOf(taskId).writes, channel);
  }

  /** How many registered writes of the task are still within their lease. */
  async writesUnderWay(taskId: string): Promise<number> {
    return replyInteger(await WRITES_UNDER_WAY.run(this.redis, [this.keysOf(taskId).writes], []), 'writesUnderWay');
  }

  /**
   * Forgets every registered write, so none can be recorded any more: what a cancel does when it has waited long
   * enough for a writer that is not coming back.
   */
  async abandonChannelWrites(taskId: string): Promise<void> {
    await this.redis.del(this.keysOf(taskId).writes);
    await this.replicated('abandonChannelWrites');
  }

  /** Whether the task's task.completed has gone out (confirmed by the broker). */
  async completionAnnounced(taskId: string): Promise<boolean> {
    return (await this.redis.get(this.keysOf(taskId).completedEvent)) === 'sent';
  }

  /*
   * Exactly-once task.completed, step by step:
   *   1. claimCompletion(taskId, owner, leaseMs) -> 'claimed': publish task.completed and wait for the broker confirm;
   *      'already-sent': ack and do nothing; 'held-by-other': someone else is sending it right now: look again until it
   *      is sent or, if they crashed, their lease has run out and the claim succeeds (the workflow's announceOnce).
   *   2. confirmCompletion(taskId) after the confirm: marks the event sent, sets done/partial and starts the TTL.
   *   If the publish fails, releaseCompletion(taskId, owner) lets a retry claim at once instead of waiting for the lease.
   *
   * Remaining at-least-once window: a crash after the broker confirmed the publish but before confirmCompletion ran
   * leaves only an expiring lease, so the redelivered message claims again and publishes a second task.completed.
   * That is why events carry a deterministic AMQP messageId (`task.completed:<taskId>`): consumers dedupe on it.
   * Choose leaseMs well above the publish+confirm time, or a slow (not crashed) claimer can be overtaken.
   */

  async claimCompletion(taskId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.claimEvent('claimCompletion', 'completedEvent', taskId, owner, leaseMs);
  }

  async releaseCompletion(taskId: string, owner: string): Promise<boolean> {
    return this.releaseEvent('completedEvent', taskId, owner);
  }

  /**
   * Marks task.completed as sent, sets the final status (done, or partial when any channel failed; a failed task
   * stays failed) and applies finishedTtlSeconds to all of the task's keys. Safe to repeat.
   * Throws TaskNotCompleteError if channels are still outstanding.
   */
  async confirmCompletion(taskId: string): Promise<ConfirmCompletionResult> {
    const operation = 'confirmCompletion';
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await CONFIRM_COMPLETION.run(this.redis, allTaskKeys(keys), [this.finishedTtlSeconds, nowIso()]),
      operation,
    );
    const head = replyString(reply[0], operation);
    if (head === 'no-task') throw new TaskNotFoundError(taskId, operation);
    const done = replyInteger(reply[1], operation);
    const failed = replyInteger(reply[2], operation);
    const total = replyInteger(reply[3], operation);
    if (head === 'incomplete') throw new TaskNotCompleteError(taskId, done, failed, total);
    await this.redis.zrem(this.activeKey, taskId);
    await this.replicated(operation);
    return { status: head as TaskStatus, done, failed, total };
  }

  /**
   * Marks the task failed (with the reason) and applies finishedTtlSeconds. Idempotent: a task that is already
   * failed/done/partial is left as it is (firstTime=false, status tells which). An unknown task id is recorded as a
   * failed task with total 0, so a task rejected before it was accepted can still be looked up.
   * Send task.failed with claimTaskFailed/confirmTaskFailed (whatever firstTime says: the previous attempt may have
   * crashed before sending), and only when the returned status is 'failed'.
   */
  async failTask(taskId: string, error: TaskError): Promise<FailTaskResult> {
    const operation = 'failTask';
    const keys = this.keysOf(taskId);
    const reply = replyArray(
      await FAIL_TASK.run(this.redis, allTaskKeys(keys), [
        taskId,
        JSON.stringify({ code: error.code, message: error.message }),
        nowIso(),
        this.finishedTtlSeconds,
      ]),
      operation,
    );
    await this.redis.zrem(this.activeKey, taskId);
    // A task refused before it was accepted is recorded here, not by createTask: it is listed too (NX keeps the
    // creation time of a task that was).
    await this.redis.zadd(this.indexKey, 'NX', Date.now(), taskId);
    await this.replicated(operation);
    return {
      firstTime: replyInteger(reply[0], operation) === 1,
      status: replyString(reply[1], operation) as TaskStatus,
    };
  }

  /*
   * Stall detection. Every running task sits in one sorted set, scored by the time of its last progress (accepted, or a
   * channel newly accounted for); finishing removes it. The set is outside the tasks' hash slots, so it is written
   * by its own command next to each script: at worst a crash between the two leaves a stale score, which makes a
   * task look stalled early (reported once, and cleared by its next progress) or a finished one linger until a sweep.
   */

  private get activeKey(): string {
    return `${this.keyPrefix}active-tasks`;
  }

  private async noteProgress(taskId: string): Promise<void> {
    await this.redis.zadd(this.activeKey, Date.now(), taskId);
  }

  /** Running tasks with no progress for at least `quietMs`, oldest first, at most `limit`. */
  async quietTasks(quietMs: number, limit = 100): Promise<{ taskId: string; lastProgressAt: string }[]> {
    const flat = await this.redis.zrangebyscore(this.activeKey, '-inf', Date.now() - quietMs, 'WITHSCORES', 'LIMIT', 0, limit);
    return [...pairsToMap(flat, 'quietTasks')].map(([taskId, score]) => ({ taskId, lastProgressAt: new Date(Number(score)).toISOString() }));
  }

  /**
   * Records that a quiet task is stalled. 'marked' the first time for this stall (announce it), 'already' while it
   * stays stalled; 'no-task' (its state is gone) and 'finished' also take it out of the index.
   */
  async markStalled(taskId: string): Promise<StallMark> {
    const result = replyString(await MARK_STALLED.run(this.redis, [this.keysOf(taskId).task], [nowIso()]), 'markStalled') as StallMark;
    if (result === 'no-task' || result === 'finished') await this.redis.zrem(this.activeKey, taskId);
    return result;
  }

  /** Same lease protocol as claimCompletion, for the single task.failed event. */
  async claimTaskFailed(taskId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.claimEvent('claimTaskFailed', 'failedEvent', taskId, owner, leaseMs);
  }

  async releaseTaskFailed(taskId: string, owner: string): Promise<boolean> {
    return this.releaseEvent('failedEvent', taskId, owner);
  }

  async confirmTaskFailed(taskId: string): Promise<void> {
    await this.confirmEvent('confirmTaskFailed', 'failedEvent', taskId);
    await this.replicated('confirmTaskFailed');
  }

  /** Same lease protocol as claimCompletion, for the single task.cancelled event. */
  async claimTaskCancelled(taskId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.claimEvent('claimTaskCancelled', 'cancelledEvent', taskId, owner, leaseMs);
  }

  async releaseTaskCancelled(taskId: string, owner: string): Promise<boolean> {
    return this.releaseEvent('cancelledEvent', taskId, owner);
  }

  async confirmTaskCancelled(taskId: string): Promise<void> {
    await this.confirmEvent('confirmTaskCancelled', 'cancelledEvent', taskId);
    await this.replicated('confirmTaskCancelled');
  }

  /** Same lease protocol as claimCompletion, for the single task.accepted event. */
  async claimAccepted(taskId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.claimEvent('claimAccepted', 'acceptedEvent', taskId, owner, leaseMs);
  }

  async releaseAccepted(taskId: string, owner: string): Promise<boolean> {
    return this.releaseEvent('acceptedEvent', taskId, owner);
  }

  async confirmAccepted(taskId: string): Promise<void> {
    await this.confirmEvent('confirmAccepted', 'acceptedEvent', taskId);
  }

  /**
   * Same lease protocol as claimCompletion, for one channel's channel.stored: however many deliveries store the same
   * channel, one of them announces it.
   */
  async claimChannelStored(taskId: string, channel: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const operation = 'claimChannelStored';
    if (owner.length === 0) throw new InvalidArgumentError(`${operation}: owner must not be empty`);
    if (channel.length === 0) throw new InvalidArgumentError(`${operation}: channel must not be empty`);
    positiveInteger('leaseMs', leaseMs);
    const keys = this.keysOf(taskId);
    const result = replyString(await CLAIM_CHANNEL_EVENT.run(this.redis, [keys.task, keys.storedEvents], [channel, owner, leaseMs]), operation);
    if (result === 'no-task') throw new TaskNotFoundError(taskId, operation);
    return result as ClaimResult;
  }

  async releaseChannelStored(taskId: string, channel: string, owner: string): Promise<boolean> {
    const keys = this.keysOf(taskId);
    return replyInteger(await RELEASE_CHANNEL_EVENT.run(this.redis, [keys.task, keys.storedEvents], [channel, owner]), 'releaseChannelStored') === 1;
  }

  async confirmChannelStored(taskId: string, channel: string): Promise<void> {
    const keys = this.keysOf(taskId);
    const reply = await CONFIRM_CHANNEL_EVENT.run(this.redis, [keys.task, keys.storedEvents], [channel]);
    if (replyInteger(reply, 'confirmChannelStored') === 0) throw new TaskNotFoundError(taskId, 'confirmChannelStored');
  }

  /** Of `channels`, those whose channel.stored has not been confirmed sent (never claimed, or a lease still open). */
  async unannouncedChannels(taskId: string, channels: readonly string[]): Promise<Set<string>> {
    if (channels.length === 0) return new Set();
    const guards = await this.redis.hmget(this.keysOf(taskId).storedEvents, ...channels);
    return new Set(channels.filter((_, i) => guards[i] !== 'sent'));
  }

  /** Indexes of the task's batches already planned: a resent task hands on only the others again. */
  async plannedBatches(taskId: string): Promise<Set<number>> {
    const members = await this.redis.smembers(this.keysOf(taskId).plannedBatches);
    return new Set(members.map(Number));
  }

  private async claimEvent(
    operation: string,
    guard: EventGuard,
    taskId: string,
    owner: string,
    leaseMs: number,
  ): Promise<ClaimResult> {
    if (owner.length === 0) throw new InvalidArgumentError(`${operation}: owner must not be empty`);
    positiveInteger('leaseMs', leaseMs);
    const keys = this.keysOf(taskId);
    const result = replyString(await CLAIM_EVENT.run(this.redis, [keys.task, keys[guard]], [owner, leaseMs]), operation);
    if (result === 'no-task') throw new TaskNotFoundError(taskId, operation);
    await this.replicated(operation);
    return result as ClaimResult;
  }

  private async confirmEvent(operation: string, guard: EventGuard, taskId: string): Promise<void> {
    const keys = this.keysOf(taskId);
    const reply = await CONFIRM_EVENT.run(this.redis, [keys.task, keys[guard]], []);
    if (replyInteger(reply, operation) === 0) throw new TaskNotFoundError(taskId, operation);
  }

  private async releaseEvent(guard: EventGuard, taskId: string, owner: string): Promise<boolean> {
    const keys = this.keysOf(taskId);
    return replyInteger(await RELEASE_EVENT.run(this.redis, [keys.task, keys[guard]], [owner]), 'releaseEvent') === 1;
  }

  /**
   * True the first time a batch of the task is marked planned, false on every repeat (e.g. a redelivered task.pack
   * must not fan out its batches twice). The marker lives and expires with the task.
   */
  async markBatchPlanned(taskId: string, index: number): Promise<boolean> {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new InvalidArgumentError(`markBatchPlanned: index must be a non-negative integer, got ${index}`);
    }
    const keys = this.keysOf(taskId);
    const added = replyInteger(
      await MARK_BATCH_PLANNED.run(this.redis, [keys.task, keys.plannedBatches], [index]),
      'markBatchPlanned',
    );
    if (added === -1) throw new TaskNotFoundError(taskId, 'markBatchPlanned');
    await this.replicated('markBatchPlanned');
    return added === 1;
  }

  /**
   * Records the task's notification subscriptions (opaque JSON; may hold secrets, so it is only ever read by the
   * notifier). Callable before createTask: the key takes the task's TTL, or the active TTL until the task exists.
   */
  async saveSubscriptions(taskId: string, subscriptionsJson: string): Promise<void> {
    const keys = this.keysOf(taskId);
    await SAVE_SUBSCRIPTIONS.run(this.redis, [keys.task, keys.subscriptions], [subscriptionsJson, this.activeTtlSeconds * 1000]);
    await this.replicated('saveSubscriptions');
  }

  /** The JSON saved by saveSubscriptions, or null when the task named none (or has expired). */
  async getSubscriptions(taskId: string): Promise<string | null> {
    return this.redis.get(this.keysOf(taskId).subscriptions);
  }

  /**
   * Generic idempotency marker: true for the first caller of `key` within ttlSeconds, false for everyone after
   * (SET NX EX). Stored as `<keyPrefix>once:<key>`.
   */
  async once(key: string, ttlSeconds: number): Promise<boolean> {
    if (key.length === 0) throw new InvalidArgumentError('once: key must not be empty');
    positiveInteger('ttlSeconds', ttlSeconds);
    const first = (await this.redis.set(this.onceKey(key), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    await this.replicated('once');
    return first;
  }

  /**
   * Waits until `replicas` replicas hold every write this connection made so far (WAIT covers them all, so one call
   * after the last write of an operation is enough).
   */
  private async replicated(operation: string): Promise<void> {
    if (this.replicas === 0) return;
    if (this.aloneSince !== undefined) {
      // WAIT on a primary without replicas blocks the connection for its whole timeout, every write: ask ROLE (which
      // does not block) at most once per ALONE_RECHECK_MS instead, until a replica is back.
      if (Date.now() - this.aloneSince < ALONE_RECHECK_MS) return;
      if ((await this.connectedReplicas(operation)) === 0) {
        this.aloneSince = Date.now();
        return;
      }
      this.aloneSince = undefined;
    }
    const acked = replyInteger(await this.redis.wait(this.replicas, this.replicationTimeoutMs), operation);
    if (acked >= this.replicas) return;
    if ((await this.connectedReplicas(operation)) === 0) {
      this.aloneSince = Date.now();
      return;
    }
    throw new ReplicationError(operation, acked, this.replicas, this.replicationTimeoutMs);
  }

  private async connectedReplicas(operation: string): Promise<number> {
    const role = replyArray(await this.redis.call('ROLE'), operation);
    return Array.isArray(role[2]) ? role[2].length : 0;
  }

  /** Forgets a once() marker, e.g. when the guarded work failed and must be allowed to run again. */
  async releaseOnce(key: string): Promise<void> {
    await this.redis.del(this.onceKey(key));
  }

  private onceKey(key: string): string {
    return `${this.keyPrefix}once:${key}`;
  }
}

function nowIso(): string {
  return new Date().toISOString();
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function validateMeta(meta: TaskMeta): void {
  for (const field of ['total', 'batches'] as const) {
    const value = meta[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`createTask: meta.${field} must be a non-negative integer, got ${value}`);
    }
  }
  if (meta.versionCode !== undefined && !Number.isSafeInteger(meta.versionCode)) {
    throw new InvalidArgumentError(`createTask: meta.versionCode must be an integer, got ${meta.versionCode}`);
  }
}
