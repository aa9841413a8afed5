import type { SpiedMessage } from './queue-spy';

/** The outcome fields a task's events and its `subpack status` view share; fields beyond these are kept. */
export interface TaskOutcome {
  status?: string;
  total?: number;
  done?: number;
  failed?: number;
  error?: { code?: string; message?: string };
  [field: string]: unknown;
}

/** An event as it went over the wire: the contracts' fields plus whatever else a service added. */
export interface WireEvent extends TaskOutcome {
  type: string;
  taskId: string;
  at: string;
  channel?: string;
  url?: string;
  bytes?: number;
  md5?: string;
  sha256?: string;
}

export interface ReceivedEvent {
  routingKey: string;
  messageId: string | undefined;
  event: WireEvent;
  receivedAt: number;
}

/** The spied messages that are events (`event.*` routing key, JSON object body with `type` and `taskId`). */
export function eventsOf(messages: readonly SpiedMessage[]): ReceivedEvent[] {
  const out: ReceivedEvent[] = [];
  for (const m of messages) {
    if (!m.routingKey.startsWith('event.') || !isEvent(m.json)) continue;
    out.push({ routingKey: m.routingKey, messageId: m.messageId, event: m.json, receivedAt: m.receivedAt });
  }
  return out;
}

export function eventsFor(messages: readonly SpiedMessage[], taskId: string, type?: string): ReceivedEvent[] {
  return eventsOf(messages).filter((e) => e.event.taskId === taskId && (type === undefined || e.event.type === type));
}

/** Distinct channels with a channel.stored event for the task. */
export function storedChannels(messages: readonly SpiedMessage[], taskId: string): Set<string> {
  return new Set(
    eventsFor(messages, taskId, 'channel.stored')
      .map((e) => e.event.channel)
      .filter((c): c is string => typeof c === 'string'),
  );
}

function isEvent(value: unknown): value is WireEvent {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.taskId === 'string';
}
