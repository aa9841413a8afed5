import { BadInputError, quoted } from '@subpack/rules';

/** A task id the rules refuse: the caller's input (the CLI exits 2), never a fault of the store. */
export class InvalidTaskIdError extends BadInputError {
  override readonly name = 'InvalidTaskIdError';
  constructor(
    readonly taskId: string,
    problem: string,
  ) {
    super(`invalid task id ${quoted(taskId)}: ${problem}`);
  }
}

export class TaskNotFoundError extends Error {
  constructor(
    readonly taskId: string,
    readonly operation: string,
  ) {
    super(`${operation}: task "${taskId}" not found (never created, or its finished state has expired)`);
    this.name = 'TaskNotFoundError';
  }
}

export class TaskNotCompleteError extends Error {
  constructor(
    readonly taskId: string,
    readonly done: number,
    readonly failed: number,
    readonly total: number,
  ) {
    super(
      `confirmCompletion: task "${taskId}" is not complete (done ${done} + failed ${failed} < total ${total})`,
    );
    this.name = 'TaskNotCompleteError';
  }
}

/** Redis holds something this library never writes; refuse to guess. */
export class CorruptTaskStateError extends Error {
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`corrupt task state in Redis key "${key}": ${detail}`);
    this.name = 'CorruptTaskStateError';
  }
}

export class InvalidArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/** Fewer replicas than required confirmed a write in time: retry later rather than act on a write a failover could lose. */
export class ReplicationError extends Error {
  constructor(operation: string, acked: number, wanted: number, timeoutMs: number) {
    super(`${operation}: ${acked} of ${wanted} Redis replica(s) confirmed the write within ${timeoutMs} ms`);
    this.name = 'ReplicationError';
  }
}
