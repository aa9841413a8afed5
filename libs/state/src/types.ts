/**
 * Shapes of the task state kept in Redis. Defined here rather than imported from @subpack/contracts so the state
 * library stays a leaf package; they mirror the event contracts (error = { code, message }).
 */

export type TaskStatus = 'pending' | 'running' | 'done' | 'partial' | 'failed' | 'cancelled';

/** The statuses a task ends in: nothing changes it any more except an explicit retry. */
export const FINISHED_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['done', 'partial', 'failed', 'cancelled']);

export interface TaskError {
  code: string;
  message: string;
}

/** What the packer knows about a task when it accepts it. */
export interface TaskMeta {
  /** Number of channels in the task. */
  total: number;
  /** Number of channel batches the task was split into. */
  batches: number;
  master: string;
  target: string;
  package?: string;
  versionName?: string;
  versionCode?: number;
  /** Channel format, naming template and common extras as accepted: the uploader derives every channel from them. */
  format?: string;
  naming?: string;
  extras?: Record<string, string>;
  /** How channels reach an object store ('stream' forces the streamed path), as the task asked. */
  upload?: string;
  /** Digest of the task's canonical content; a resend with another fingerprint is a different task. */
  fingerprint?: string;
}

/** Task state without the per-channel records (cheap to read for tasks with many channels). */
export interface TaskSummary extends TaskMeta {
  taskId: string;
  status: TaskStatus;
  done: number;
  /** Of `done`, the channels whose output already held exactly these bytes (a rerun): found, not written. */
  kept: number;
  failed: number;
  error?: TaskError;
  createdAt: string;
  updatedAt: string;
  /** Set when the task reached done/partial (confirmCompletion), failed (failTask) or cancelled (cancelTask). */
  finishedAt?: string;
  /** Who cancelled the task, as given to cancelTask. */
  cancelledBy?: string;
  /** Why, as given to cancelTask. */
  cancelReason?: string;
  /** Set while the task is stalled: when it was found without progress for the configured time. */
  stalledAt?: string;
  /** Which run of the task this is: 1, then one more for each retry (resetForRetry). */
  attempt: number;
}

export type ChannelStatus = 'stored' | 'failed';

export interface ChannelRecord {
  status: ChannelStatus;
  url?: string;
  bytes?: number;
  md5?: string;
  sha256?: string;
  /** The output already held these bytes: found, not written. */
  kept?: boolean;
  error?: TaskError;
  /** Deliveries it took (1 when the first one succeeded), when the recorder knew it. */
  attempts?: number;
  /** ISO time the record was written. */
  at: string;
}

export interface TaskState extends TaskSummary {
  channels: Record<string, ChannelRecord>;
}

/** Where and what the uploader stored for one channel. */
export interface StoredChannel {
  url: string;
  bytes: number;
  md5: string;
  sha256: string;
  /** Deliveries it took, 1-based. */
  attempts?: number;
  /** The output already held these bytes: found, not written. */
  kept?: boolean;
}

export interface ChannelMarkResult {
  /**
   * True when this call recorded a new outcome for the channel: the first terminal record, or a stored record
   * replacing an earlier failure (see `replacedFailure`). False for a redelivery; such a call changed nothing.
   */
  firstTime: boolean;
  /** True when a channel that had failed is now stored (e.g. replayed from the parking lot). */
  replacedFailure: boolean;
  done: number;
  failed: number;
  total: number;
  /** done + failed >= total. */
  complete: boolean;
  /** True for exactly one call per task: the one whose new record made the task complete. */
  justCompleted: boolean;
  /** The task's status after the call. */
  status: TaskStatus;
  /** The channel's record after the call; null when it has none (a cancelled task records no new channel). */
  channelStatus: ChannelStatus | null;
}

export interface CreateTaskResult {
  /** False when a task with this id already existed; its state was left untouched. */
  created: boolean;
  state: TaskSummary;
}

export type ClaimResult = 'claimed' | 'already-sent' | 'held-by-other';

export type ReserveResult = 'reserved' | 'same' | 'conflict';

export type StallMark = 'no-task' | 'finished' | 'already' | 'marked';

/** The statuses a task may be run again from. */
export type RetryableStatus = 'failed' | 'partial' | 'cancelled';

/**
 * What resetForRetry did: 'reset' started run `attempt` of a failed, partial or (when allowed) cancelled task;
 * otherwise nothing changed because the task is unknown ('no-task'), not finished ('running', with its status), done,
 * cancelled without `allowCancelled`, or has no recorded content to run again ('no-content').
 */
export type RetryReset =
  | { outcome: 'reset'; attempt: number; previous: RetryableStatus }
  | { outcome: 'no-task' | 'done' | 'cancelled' | 'no-content' }
  | { outcome: 'running'; status: TaskStatus };

/**
 * What cancelTask did. 'cancelled': this call cancelled the task. Otherwise it changed nothing: 'already-cancelled',
 * 'finished' (it had ended done, partial or failed), 'completing' (every channel is accounted for and its completion
 * is under way), or 'no-task' (never recorded, or expired after finishing).
 */
export type CancelTaskResult =
  | { outcome: 'no-task' }
  | {
      outcome: 'cancelled' | 'already-cancelled' | 'finished' | 'completing';
      status: TaskStatus;
      done: number;
      failed: number;
      total: number;
    };

export interface CancelTaskOptions {
  /** Who asked (a user name, a token's label): recorded as cancelledBy. */
  by?: string;
  /** Why: recorded as cancelReason. */
  reason?: string;
}

/** What beginChannelWrite found: go on and write, or the task is cancelled (write nothing), or it is unknown. */
export type ChannelWriteStart = 'go' | 'cancelled' | 'no-task';

/** One page of the task index, newest first. */
export interface TaskIdPage {
  /** Each task with its index score: when it was created, in ms since the epoch. */
  tasks: { taskId: string; score: number }[];
  /** Pass back as `before` for the next (older) page; null when there is none. */
  nextBefore: number | null;
}

export interface FailTaskResult {
  /** True when this call moved the task to failed; false when it was already finished. */
  firstTime: boolean;
  /** The task's status after the call ('failed', or the earlier final status 'done'/'partial'). */
  status: TaskStatus;
}

export interface ConfirmCompletionResult {
  status: TaskStatus;
  done: number;
  failed: number;
  total: number;
}

export interface ChannelEntry extends ChannelRecord {
  channel: string;
}

export interface ChannelPage {
  channels: ChannelEntry[];
  /** Pass back as `cursor` to read the next page; null when the scan is finished. */
  nextCursor: string | null;
}
