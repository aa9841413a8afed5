import { parseArgs } from 'node:util';
import type { TaskState } from '@subpack/state';
import { UsageError } from '../usage';
import { BROKER_TIMEOUT_OPTION, brokerTimeoutMs, withStore } from './broker';

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, ...BROKER_TIMEOUT_OPTION } });
  if (positionals.length !== 1) throw new UsageError('status takes exactly one task id');
  const taskId = positionals[0]!;
  const state = await withStore(brokerTimeoutMs(values), (store) => store.getTask(taskId));
  if (!state) {
    process.stderr.write(`subpack: no task ${JSON.stringify(taskId)} (never submitted, or expired after finishing)\n`);
    return 1;
  }
  process.stdout.write(values.json ? `${JSON.stringify(state)}\n` : formatStatus(state));
  return 0;
}

export function formatStatus(s: TaskState): string {
  const lines = [
    `task:     ${s.taskId}`,
    `status:   ${s.status}`,
    `channels: ${s.done} stored (${s.done - s.kept} written, ${s.kept} kept), ${s.failed} failed, ${s.total} total`,
  ];
  if (s.error) lines.push(`error:    ${s.error.message}`);
  if (s.stalledAt) lines.push(`stalled:  no progress since ${s.updatedAt} (reported ${s.stalledAt})`);
  for (const [channel, c] of Object.entries(s.channels)) {
    lines.push(`  ${channel}: ${c.status}${c.kept ? ' (kept)' : ''}${c.url ? ` ${c.url}` : ''}${c.error ? ` (${c.error.message})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
