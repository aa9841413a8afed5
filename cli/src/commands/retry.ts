import { parseArgs } from 'node:util';
import { retryTask } from '@subpack/workflow';
import { UsageError } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withBroker, withStore } from './broker';

/** `subpack retry <taskId>`: runs a failed or partial task again (the workflow decides and resets); 1 when it does nothing. */
export async function retryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, ...BROKER_TIMEOUT_OPTION } });
  if (positionals.length !== 1) throw new UsageError('retry takes exactly one task id');
  const taskId = positionals[0]!;
  const ms = brokerTimeoutMs(values);
  const outcome = await withStore(ms, (store) =>
    withBroker(ms, (b) =>
      retryTask({ store, publisher: { publish: (...args) => b.within('confirm the task', b.manager.publisher.publish(...args)) } }, taskId),
    ),
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ taskId, ...outcome })}\n`);
  if (!outcome.started) {
    process.stderr.write(`subpack: ${outcome.reason}\n`);
    return 1;
  }
  process.stderr.write(`retrying ${taskId} (attempt ${outcome.attempt}; it ended ${outcome.previous}); follow it with: subpack status ${taskId}\n`);
  return 0;
}
