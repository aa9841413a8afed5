import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { eventsFor } from './events';
import type { SpiedMessage } from './queue-spy';

export function uniqueTaskId(label: string): string {
  return `e2e-${label}-${randomBytes(4).toString('hex')}`;
}

/** `count` channel ids: ch-01, ch-02, ... (zero-padded so they sort). */
export function channelIds(count: number, prefix = 'ch'): string[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`);
}

export interface TaskInput {
  taskId: string;
  master: string;
  target: string;
  channels: readonly string[];
  [field: string]: unknown;
}

/** A PackTask body as an outside publisher writes it. */
export function packTask(input: TaskInput): Record<string, unknown> {
  const { channels, ...rest } = input;
  return { ...rest, channels: channels.map((id) => ({ id })), submittedAt: new Date().toISOString() };
}

/** Local path -> channel for every channel.stored event of the task (file:// URLs only). */
export function storedFiles(messages: readonly SpiedMessage[], taskId: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const { event } of eventsFor(messages, taskId, 'channel.stored')) {
    if (typeof event.url !== 'string' || typeof event.channel !== 'string') continue;
    if (event.url.startsWith('file:')) files.set(fileURLToPath(event.url), event.channel);
  }
  return files;
}

/** Local path -> announced size for every channel.stored event of the task (file:// URLs only). */
export function storedBytes(messages: readonly SpiedMessage[], taskId: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const { event } of eventsFor(messages, taskId, 'channel.stored')) {
    if (typeof event.url === 'string' && event.url.startsWith('file:') && typeof event.bytes === 'number') {
      sizes.set(fileURLToPath(event.url), event.bytes);
    }
  }
  return sizes;
}
