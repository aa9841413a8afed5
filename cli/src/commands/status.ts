import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { escapeUnsafe } from '@subpack/contracts';
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
  const sorted = { ...state, channels: Object.fromEntries(sortedChannels(state)) };
  process.stdout.write(values.json ? `${JSON.stringify(sorted)}\n` : formatStatus(sorted));
  return 0;
}

export function formatStatus(s: TaskState): string {
  const lines = [
    `task:     ${s.taskId}`,
    `status:   ${s.status}${s.attempt > 1 ? ` (attempt ${s.attempt}: retried)` : ''}`,
    `channels: ${s.done} stored (${s.done - s.kept} written, ${s.kept} kept), ${s.failed} failed, ${s.total} total`,
  ];
  if (s.error) lines.push(`error:    ${s.error.message}`);
  if (s.status === 'cancelled') {
    const by = s.cancelledBy !== undefined ? ` by ${escapeUnsafe(s.cancelledBy)}` : '';
    const why = s.cancelReason !== undefined ? `: ${escapeUnsafe(s.cancelReason)}` : '';
    lines.push(`cancelled: ${s.finishedAt ?? s.updatedAt}${by}${why}`);
  }
  if (s.stalledAt) lines.push(`stalled:  no progress since ${s.updatedAt} (reported ${s.stalledAt})`);
  for (const [channel, c] of sortedChannels(s)) {
    lines.push(`  ${escapeUnsafe(channel)}: ${c.status}${c.kept ? ' (kept)' : ''}${c.url ? ` ${readableUrl(c.url)}` : ''}${c.error ? ` (${c.error.message})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Channels in one order whatever order Redis returns them in: by id, code point by code point. */
function sortedChannels(s: TaskState): [string, TaskState['channels'][string]][] {
  return Object.entries(s.channels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Where a channel went, as a person reads it: a local path for file:// URLs, and object URLs with their keys decoded
 * (a Chinese channel id shows as written, not percent-encoded). --json keeps the URL as stored.
 */
export function readableUrl(url: string): string {
  try {
    return escapeUnsafe(url.startsWith('file:') ? fileURLToPath(url) : decodeURI(url));
  } catch {
    return url;
  }
}
