import { eventMessageId, type NotifyFormat, type SubpackEvent } from '@subpack/contracts';
import { EVENT_LEVELS, highestLevel } from './levels';
import { dingtalkSignedUrl, feishuSign, standardWebhooksHeaders } from './signing';
import type { Subscription } from './subscriptions';

/** What the task record knows, for robot summaries (events alone do not name the package of a failed channel). */
export interface TaskFacts {
  readonly package?: string;
  readonly versionName?: string;
  readonly versionCode?: number;
  readonly total?: number;
  readonly done?: number;
  readonly failed?: number;
}

export interface OutgoingRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RenderInput {
  /** Stable id of the delivery; webhook-id. */
  readonly deliveryId: string;
  readonly taskId: string;
  /** Oldest first; one event, or a batch of channel events. */
  readonly events: readonly SubpackEvent[];
  readonly subscription: Subscription;
  readonly facts: TaskFacts;
  readonly now: Date;
}

/** One event as receivers see it in a json body. `id` is stable: receivers drop duplicates by it. */
export interface JsonEventBody {
  readonly id: string;
  readonly type: string;
  readonly level: string;
  readonly time: string;
  readonly taskId: string;
  readonly data: SubpackEvent;
}

/** Listed failures per robot message; the rest are counted. */
export const MAX_ROBOT_LINES = 20;
/** WeCom refuses markdown over 4096 bytes; the others allow more, so every robot text stays under this. */
export const MAX_ROBOT_TEXT_BYTES = 4000;
const MAX_REASON_CHARS = 200;

export function renderRequest(input: RenderInput): OutgoingRequest {
  const { subscription, now } = input;
  switch (subscription.format) {
    case 'json': {
      const body = JSON.stringify(jsonBody(input));
      const headers = standardWebhooksHeaders(input.deliveryId, Math.floor(now.getTime() / 1000), body, subscription.secret);
      return { url: subscription.url, headers: { 'content-type': 'application/json', ...headers }, body };
    }
    case 'dingtalk': {
      const { title, text } = robotText(input);
      const url = subscription.secret === undefined ? subscription.url : dingtalkSignedUrl(subscription.url, subscription.secret, now.getTime());
      return { url, headers: JSON_HEADERS, body: JSON.stringify({ msgtype: 'markdown', markdown: { title, text } }) };
    }
    case 'wecom': {
      const { text } = robotText(input);
      return { url: subscription.url, headers: JSON_HEADERS, body: JSON.stringify({ msgtype: 'markdown', markdown: { content: text } }) };
    }
    case 'feishu': {
      const { title, text } = robotText(input);
      const seconds = Math.floor(now.getTime() / 1000);
      const signature = subscription.secret === undefined ? {} : { timestamp: String(seconds), sign: feishuSign(subscription.secret, seconds) };
      const card = { header: { title: { tag: 'plain_text', content: title } }, elements: [{ tag: 'markdown', content: text }] };
      return { url: subscription.url, headers: JSON_HEADERS, body: JSON.stringify({ ...signature, msg_type: 'interactive', card }) };
    }
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export function jsonEventBody(event: SubpackEvent): JsonEventBody {
  return { id: eventMessageId(event), type: event.type, level: EVENT_LEVELS[event.type], time: event.at, taskId: event.taskId, data: event };
}

function jsonBody(input: RenderInput): unknown {
  const [only] = input.events;
  if (input.events.length === 1 && only !== undefined) return jsonEventBody(only);
  const events = input.events.map(jsonEventBody);
  return {
    id: input.deliveryId,
    type: 'batch',
    level: highestLevel(events.map((event) => EVENT_LEVELS[event.data.type])),
    time: events[events.length - 1]?.time ?? input.now.toISOString(),
    taskId: input.taskId,
    data: { events },
  };
}

/** A markdown summary: task, package and version, counts, failures with reasons. */
export function robotText(input: Pick<RenderInput, 'taskId' | 'events' | 'facts'>): { title: string; text: string } {
  const { taskId, events, facts } = input;
  const lines: string[] = [];
  const outcome = events.find((event) => event.type === 'task.completed' || event.type === 'task.failed' || event.type === 'task.cancelled');
  const title = `subpack ${taskId}: ${outcome ? outcomeWord(outcome) : headline(events)}`;
  lines.push(`### ${plain(title)}`, `- Task: ${plain(taskId)}`);
  if (facts.package !== undefined) {
    const version = facts.versionName !== undefined ? ` ${facts.versionName}` : '';
    const code = facts.versionCode !== undefined ? ` (${facts.versionCode})` : '';
    lines.push(`- Package: ${plain(facts.package)}${plain(version)}${code}`);
  }
  if (outcome?.type === 'task.completed') {
    lines.push(`- Channels: ${outcome.done} stored, ${outcome.failed} failed, ${outcome.total} in all`);
  } else if (outcome?.type === 'task.failed') {
    lines.push(`- Reason: ${reason(outcome.error.code, outcome.error.message)}`);
  } else if (outcome?.type === 'task.cancelled') {
    lines.push(`- Channels: ${outcome.done} stored, ${outcome.failed} failed, ${outcome.total} in all; no more are written`);
    if (outcome.cancelledBy !== undefined) lines.push(`- Cancelled by: ${plain(outcome.cancelledBy)}`);
  } else if (facts.total !== undefined) {
    lines.push(`- Channels so far: ${facts.done ?? 0} stored, ${facts.failed ?? 0} failed, ${facts.total} in all`);
  }
  const failures = events.filter((event) => event.type === 'channel.failed');
  if (failures.length > 0) {
    lines.push('', `**Failed channels (${failures.length})**`);
    lines.push(...capped(failures.map((event) => `- ${plain(event.channel)}: ${reason(event.error.code, event.error.message)}`)));
  }
  const retries = events.filter((event) => event.type === 'retry.scheduled');
  if (retries.length > 0) {
    lines.push('', `**Retries scheduled (${retries.length})**`);
    lines.push(
      ...capped(
        retries.map((event) => {
          const subject = event.channel ?? (event.batch !== undefined ? `batch ${event.batch}` : 'task');
          return `- ${plain(event.route)} ${plain(subject)}, attempt ${event.attempt}, again in ${event.tier}: ${plain(clip(event.reason))}`;
        }),
      ),
    );
  }
  return { title, text: truncateUtf8(lines.join('\n'), MAX_ROBOT_TEXT_BYTES) };
}

function outcomeWord(event: SubpackEvent): string {
  if (event.type === 'task.failed') return 'failed';
  if (event.type === 'task.cancelled') return 'cancelled';
  if (event.type === 'task.completed') return event.status === 'done' ? 'done' : `partial (${event.failed} failed)`;
  return event.type;
}

function headline(events: readonly SubpackEvent[]): string {
  if (events.some((event) => event.type === 'channel.failed')) return 'channels failed';
  if (events.some((event) => event.type === 'retry.scheduled')) return 'retries scheduled';
  return 'progress';
}

function capped(lines: readonly string[]): string[] {
  if (lines.length <= MAX_ROBOT_LINES) return [...lines];
  return [...lines.slice(0, MAX_ROBOT_LINES), `- ... and ${lines.length - MAX_ROBOT_LINES} more`];
}

function reason(code: string, message: string): string {
  return `${plain(code)}: ${plain(clip(message))}`;
}

function clip(text: string): string {
  return text.length <= MAX_REASON_CHARS ? text : `${text.slice(0, MAX_REASON_CHARS - 3)}...`;
}

/** Reasons come from anywhere: no line breaks or markdown control characters reach the robot. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/[`*_#>[\]|<]/g, (char) => `\\${char}`);
}

export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const marker = '\n...';
  let cut = text.slice(0, maxBytes);
  while (Buffer.byteLength(cut) + Buffer.byteLength(marker) > maxBytes) cut = cut.slice(0, -1);
  return cut + marker;
}

export interface ReplyProblem {
  readonly permanent: boolean;
  readonly reason: string;
}

/** Robot error codes that mean "too many messages": worth retrying later. */
const ROBOT_RATE_LIMIT_CODES: ReadonlySet<number> = new Set([130101, 45009, 11232, 9499]);

/**
 * Robots answer HTTP 200 with an error code in the body (DingTalk and WeCom `errcode`, Feishu `code`); 0 means sent.
 * Returns undefined for success and for json receivers, whose status code alone counts. A body without the code is
 * not a robot's reply at all (a URL that is not the robot's): the reason says what came back instead.
 */
export function robotReplyProblem(format: NotifyFormat, status: number, body: string): ReplyProblem | undefined {
  if (format === 'json') return undefined;
  const notARobot = (what: string): string => `the receiver answered HTTP ${status} with ${what}, not a ${format} robot's reply`;
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    return { permanent: false, reason: notARobot(body.trim() === '' ? 'an empty body' : 'a body that is not JSON') };
  }
  const fields = reply !== null && typeof reply === 'object' ? (reply as Record<string, unknown>) : {};
  const code = format === 'feishu' ? (fields.code ?? fields.StatusCode) : fields.errcode;
  if (code === 0) return undefined;
  if (typeof code !== 'number') return { permanent: true, reason: notARobot(`JSON without ${format === 'feishu' ? 'a code' : 'an errcode'}`) };
  const message = fields.errmsg ?? fields.msg ?? fields.StatusMessage;
  const text = `${format} refused the message: code ${String(code)}${typeof message === 'string' ? ` (${clip(message)})` : ''}`;
  return { permanent: !ROBOT_RATE_LIMIT_CODES.has(code), reason: text };
}
