import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { packTaskMessageId, validatePackTask, type PackTask } from '@subpack/contracts';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import { FINISHED_STATUSES } from '@subpack/state';
import { resendNote } from '@subpack/workflow';
import { ProgressBar } from '../progress';
import { UsageError, parsePositiveSeconds } from '../usage';
import { BROKER_TIMEOUT_OPTION, DependencyError, brokerTimeoutMs, withBroker, withStore } from './broker';

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

  return waitForTask(task, Date.now() + timeoutSeconds * 1000, timeoutSeconds, brokerMs);
}

/** How long the wait pauses before it connects again after Redis stopped answering. */
const RECONNECT_PAUSE_MS = 1000;

/**
 * Follows the task in Redis until it finishes (exit 0 when done, 1 otherwise) or the deadline passes. The task runs
 * in the services whatever becomes of this connection: when Redis stops answering (a restart, or a failover the
 * sentinels are still electing) the wait says so once and connects again, through the sentinels to the promoted
 * primary, until the deadline.
 */
async function waitForTask(task: PackTask, deadline: number, timeoutSeconds: number, brokerMs: number): Promise<number> {
  const bar = new ProgressBar(task.channels.length);
  const say = (line: string): void => {
    bar.clearLine();
    process.stderr.write(`${line}\n`);
  };
  let lost = false;
  while (Date.now() < deadline) {
    try {
      const exitCode = await withStore(brokerMs, async (store) => {
        if (lost) say(`subpack: Redis answers again; still waiting for ${task.taskId}`);
        lost = false;
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
          await sleep(500);
        }
        return undefined;
      });
      if (exitCode !== undefined) return exitCode;
    } catch (err) {
      if (!(err instanceof DependencyError)) throw err;
      if (!lost) say(`subpack: ${err.message}; ${task.taskId} goes on in the services, waiting for Redis until --timeout`);
      lost = true;
      await sleep(Math.max(0, Math.min(RECONNECT_PAUSE_MS, deadline - Date.now())));
    }
  }
  bar.finish();
  process.stderr.write(`${task.taskId}: still running after --timeout ${timeoutSeconds}s\n`);
  return 1;
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
