import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { escapeUnsafe } from '@subpack/contracts';
import { cancelTask } from '@subpack/workflow';
import { UsageError } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withBroker, withStore } from './broker';

/**
 * `subpack cancel <taskId>`: stops a pending or running task for good (the workflow cancels, waits for the writes
 * already under way and announces task.cancelled). Exit 0 when the task is cancelled, by this call or an earlier one;
 * 1 when there is nothing to cancel: the task is unknown, finished, or completing.
 */
export async function cancelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, by: { type: 'string' }, reason: { type: 'string' }, ...BROKER_TIMEOUT_OPTION },
  });
  if (positionals.length !== 1) throw new UsageError('cancel takes exactly one task id');
  const taskId = positionals[0]!;
  const by = values.by ?? localUser();
  const ms = brokerTimeoutMs(values);
  const outcome = await withStore(ms, (store) =>
    withBroker(ms, (b) =>
      cancelTask({ store, publisher: b.manager.publisher, owner: 'subpack-cli' }, taskId, by, values.reason !== undefined ? { reason: values.reason } : {}),
    ),
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ taskId, ...outcome })}\n`);
  const id = escapeUnsafe(taskId);
  switch (outcome.outcome) {
    case 'no-task':
      process.stderr.write(`subpack: no task ${JSON.stringify(taskId)} (never submitted, or expired after finishing)\n`);
      return 1;
    case 'cancelled':
    case 'already-cancelled': {
      const counts = `${outcome.done} stored, ${outcome.failed} failed of ${outcome.total}`;
      if (!values.json) process.stdout.write(`${id}: cancelled, ${counts}\n`);
      if (outcome.outcome === 'already-cancelled') process.stderr.write(`subpack: task ${JSON.stringify(taskId)} was already cancelled\n`);
      return 0;
    }
    case 'finished':
      process.stderr.write(`subpack: task ${JSON.stringify(taskId)} already finished ${outcome.status}; nothing to cancel\n`);
      return 1;
    case 'completing':
      process.stderr.write(`subpack: task ${JSON.stringify(taskId)} has every channel accounted for and is completing; nothing to cancel\n`);
      return 1;
  }
}

/** Who is cancelling, for the task's record and its task.cancelled, when --by does not say. */
function localUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
