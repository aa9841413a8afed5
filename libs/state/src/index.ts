export { ALL_CHANNELS_FAILED, TaskStore } from './task-store';
export { RateWindow } from './rate-window';
export { RedisListBridge } from './redis-list-bridge';
export { assertTaskId } from './task-keys';
export { InvalidTaskIdError, ReplicationError } from './errors';
export { FINISHED_STATUSES } from './types';
export type {
  CancelTaskOptions,
  CancelTaskResult,
  ChannelWriteStart,
  ClaimResult,
  RetryableStatus,
  RetryReset,
  TaskIdPage,
  TaskState,
  TaskStatus,
  TaskSummary,
} from './types';
