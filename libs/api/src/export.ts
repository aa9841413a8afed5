import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { contentDisposition } from '@subpack/runtime';
import type { ChannelResult } from './tasks';

export const EXPORT_COLUMNS = ['channel', 'url', 'bytes', 'md5', 'sha256'] as const;

/**
 * One CSV field: quoted when it holds a separator, a quote or a line break; a leading =, +, - or @ gets a ' so a
 * spreadsheet shows the channel id instead of running it as a formula.
 */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function write(res: ServerResponse, chunk: string): Promise<void> {
  if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
}

/**
 * Streams the stored channels of a task as CSV (UTF-8 with a BOM, so spreadsheet programs read Chinese ids right) or a
 * JSON array: what partners are sent. Failed channels are left out; the channels endpoint lists them.
 */
export async function streamExport(res: ServerResponse, taskId: string, format: 'csv' | 'json', rows: AsyncIterable<ChannelResult>): Promise<void> {
  const name = `${taskId}-channels.${format}`;
  res.writeHead(200, {
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    'content-disposition': contentDisposition(name),
    'cache-control': 'no-store',
  });
  let first = true;
  await write(res, format === 'csv' ? `\uFEFF${EXPORT_COLUMNS.join(',')}\r\n` : '[');
  for await (const r of rows) {
    if (res.destroyed) return;
    if (r.status !== 'stored') continue;
    const line =
      format === 'csv'
        ? `${[r.channel, r.url, r.bytes, r.md5, r.sha256].map(csvField).join(',')}\r\n`
        : `${first ? '' : ','}\n${JSON.stringify({ channel: r.channel, url: r.url, bytes: r.bytes, md5: r.md5, sha256: r.sha256 })}`;
    first = false;
    await write(res, line);
  }
  res.end(format === 'csv' ? '' : '\n]\n');
}
