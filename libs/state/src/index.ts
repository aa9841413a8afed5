export { ALL_CHANNELS_FAILED, TaskStore } from './task-store';
export { RateWindow } from './rate-window';
export { RedisListBridge } from './redis-list-bridge';
export { assertTaskId } from './task-keys';
export { InvalidTaskIdError, ReplicationError } from './errors';
export type { ClaimResult, RetryReset, TaskState, TaskStatus, TaskSummary } from './types';
