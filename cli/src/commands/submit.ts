import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { packTaskMessageId, validatePackTask, type PackTask } from '@subpack/contracts';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import { FINISHED_STATUSES } from '@subpack/state';
import { resendNote } from '@subpack/workflow';
import { ProgressBar } from '../progress';
import { UsageError, parsePositiveSeconds } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withBroker, withStore } from './broker';

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { wait: { type: 'boolean', default: false }, timeout: { type: 'string', default: '3600' }, ...BROKER_TIMEOUT_OPTION },
  });
  if (positionals.length !== 1) throw new UsageError('submit takes exactly one task JSON file');
  const timeoutSeconds = parsePositiveSeconds('--timeout', values.timeout);
  const brokerMs = brokerTimeoutMs(values);
  const text = await readFile(positionals[0]!, 'utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${positionals[0]}: not valid JSON (${(err as Error).message})`);
  }
  // Checked here too so a typo is reported at once rather than parked.
  const checked = validatePackTask(body);
  if (!checked.ok) throw new UsageError(`${positionals[0]}: ${checked.errors.join('; ')}`);
  const task = checked.value;
  const note = await finishedNote(task, brokerMs);
  if (note !== undefined) {
    process.stderr.write(`subpack: ${note}\n`);
    return 1;
  }
  await withBroker(
    brokerMs,
    (b) => b.within('confirm the task', b.manager.publisher.publish(EXCHANGES.main, ROUTING_KEYS.packTask, task, { messageId: packTaskMessageId(task.taskId) })),
    { onBlocked: (reason) => process.stderr.write(`subpack: RabbitMQ is blocking publishers (${reason}); waiting up to --broker-timeout for it to clear\n`) },
  );
  process.stderr.write(`submitted ${task.taskId} (${task.channels.length} channels)\n`);
  if (!values.wait) return 0;

  const deadline = Date.now() + timeoutSeconds * 1000;
  const bar = new ProgressBar(task.channels.length);
  return withStore(brokerMs, async (store) => {
    while (Date.now() < deadline) {
      const s = await store.getTaskSummary(task.taskId);
      if (s) {
        bar.update(s.done + s.failed, s.status);
        if (FINISHED_STATUSES.has(s.status)) {
          bar.finish();
          process.stderr.write(`${task.taskId}: ${s.status}, ${s.done} stored, ${s.failed} failed${s.error ? `: ${s.error.message}` : ''}\n`);
          return s.status === 'done' ? 0 : 1;
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    bar.finish();
    process.stderr.write(`${task.taskId}: still running after --timeout ${timeoutSeconds}s\n`);
    return 1;
  });
}

/** How long submit looks in Redis for an earlier run of the task before it sends anyway. */
const RESEND_CHECK_MS = 2000;

/**
 * A task that already failed or ended partial with this content is not started again by a resend: say so and what to
 * run instead. When Redis cannot tell in time, the task is sent and the packer says the same in its log.
 */
async function finishedNote(task: PackTask, brokerMs: number): Promise<string | undefined> {
  try {
    return await withStore(Math.min(brokerMs, RESEND_CHECK_MS), (store) => resendNote(store, task));
  } catch {
    return undefined;
  }
}
