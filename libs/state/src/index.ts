export { ALL_CHANNELS_FAILED, TaskStore, type TaskStoreOptions } from './task-store';
export { RateWindow } from './rate-window';
export { RedisListBridge, type RedisListBridgeOptions, type BridgePhase } from './redis-list-bridge';
export { taskKeys, assertTaskId, type TaskKeys } from './task-keys';
export {
  CorruptTaskStateError,
  InvalidArgumentError,
  InvalidTaskIdError,
  ReplicationError,
  TaskNotCompleteError,
  TaskNotFoundError,
} from './errors';
export type {
  ChannelEntry,
  ChannelMarkResult,
  ChannelPage,
  ChannelRecord,
  ChannelStatus,
  ClaimResult,
  ConfirmCompletionResult,
  CreateTaskResult,
  FailTaskResult,
  ReserveResult,
  RetryReset,
  StallMark,
  StoredChannel,
  TaskError,
  TaskMeta,
  TaskState,
  TaskStatus,
  TaskSummary,
} from './types';
export { FINISHED_STATUSES } from './types';
