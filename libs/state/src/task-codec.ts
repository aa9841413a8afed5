import { CorruptTaskStateError } from './errors';
import { parseJsonField } from './redis-reply';
import type { ChannelRecord, TaskError, TaskMeta, TaskStatus, TaskSummary } from './types';

/** Conversion between the TypeScript shapes and what is stored in the task hash / channels hash. */

const TASK_STATUSES: ReadonlySet<string> = new Set<TaskStatus>(['pending', 'running', 'done', 'partial', 'failed', 'cancelled']);

export function encodeNewTask(taskId: string, meta: TaskMeta, now: string): string[] {
  const fields: Record<string, string | number | undefined> = {
    taskId,
    status: 'pending',
    total: meta.total,
    done: 0,
    failed: 0,
    batches: meta.batches,
    master: meta.master,
    target: meta.target,
    package: meta.package,
    versionName: meta.versionName,
    versionCode: meta.versionCode,
    format: meta.format,
    naming: meta.naming,
    extras: meta.extras === undefined ? undefined : JSON.stringify(meta.extras),
    upload: meta.upload,
    fingerprint: meta.fingerprint,
    createdAt: now,
    updatedAt: now,
  };
  return Object.entries(fields).flatMap(([field, value]) => (value === undefined ? [] : [field, String(value)]));
}

export function decodeTaskSummary(key: string, hash: ReadonlyMap<string, string>): TaskSummary {
  const text = (field: string): string => {
    const value = hash.get(field);
    if (value === undefined) throw new CorruptTaskStateError(key, `missing field "${field}"`);
    return value;
  };
  const integer = (field: string): number => {
    const raw = text(field);
    const value = Number(raw);
    if (!Number.isSafeInteger(value)) throw new CorruptTaskStateError(key, `field "${field}" is not an integer: ${raw}`);
    return value;
  };
  const status = text('status');
  if (!TASK_STATUSES.has(status)) throw new CorruptTaskStateError(key, `unknown status "${status}"`);

  const summary: TaskSummary = {
    taskId: text('taskId'),
    status: status as TaskStatus,
    total: integer('total'),
    done: integer('done'),
    kept: hash.has('kept') ? integer('kept') : 0,
    failed: integer('failed'),
    batches: integer('batches'),
    master: text('master'),
    target: text('target'),
    createdAt: text('createdAt'),
    updatedAt: text('updatedAt'),
    attempt: hash.has('attempt') ? integer('attempt') : 1,
  };
  if (hash.has('package')) summary.package = text('package');
  if (hash.has('versionName')) summary.versionName = text('versionName');
  if (hash.has('versionCode')) summary.versionCode = integer('versionCode');
  if (hash.has('format')) summary.format = text('format');
  if (hash.has('naming')) summary.naming = text('naming');
  if (hash.has('extras')) summary.extras = decodeExtras(key, 'extras', parseJsonField(key, 'extras', text('extras')));
  if (hash.has('upload')) summary.upload = text('upload');
  if (hash.has('fingerprint')) summary.fingerprint = text('fingerprint');
  if (hash.has('stalledAt')) summary.stalledAt = text('stalledAt');
  if (hash.has('finishedAt')) summary.finishedAt = text('finishedAt');
  if (hash.has('cancelledBy')) summary.cancelledBy = text('cancelledBy');
  if (hash.has('cancelReason')) summary.cancelReason = text('cancelReason');
  if (hash.has('error')) summary.error = decodeTaskError(key, 'error', parseJsonField(key, 'error', text('error')));
  return summary;
}

/** Extras are a flat string map, both the task's common ones and each channel's own in the inputs hash. */
export function decodeExtras(key: string, field: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new CorruptTaskStateError(key, `field "${field}" is not a string map`);
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function decodeTaskError(key: string, field: string, value: unknown): TaskError {
  if (
    typeof value !== 'object' ||
    value === null ||
    !('code' in value) ||
    !('message' in value) ||
    typeof value.code !== 'string' ||
    typeof value.message !== 'string'
  ) {
    throw new CorruptTaskStateError(key, `field "${field}" is not a {code, message} error`);
  }
  return { code: value.code, message: value.message };
}

export function encodeChannelRecord(record: ChannelRecord): string {
  return JSON.stringify(record);
}

export function decodeChannelRecord(key: string, channel: string, raw: string): ChannelRecord {
  const value = parseJsonField(key, channel, raw);
  if (typeof value !== 'object' || value === null) {
    throw new CorruptTaskStateError(key, `channel "${channel}" record is not an object`);
  }
  const record = value as Partial<Record<keyof ChannelRecord, unknown>>;
  if ((record.status !== 'stored' && record.status !== 'failed') || typeof record.at !== 'string') {
    throw new CorruptTaskStateError(key, `channel "${channel}" record lacks a valid status/at`);
  }
  const decoded: ChannelRecord = { status: record.status, at: record.at };
  if (typeof record.url === 'string') decoded.url = record.url;
  if (typeof record.bytes === 'number') decoded.bytes = record.bytes;
  if (typeof record.md5 === 'string') decoded.md5 = record.md5;
  if (typeof record.sha256 === 'string') decoded.sha256 = record.sha256;
  if (record.kept === true) decoded.kept = true;
  if (typeof record.attempts === 'number' && Number.isSafeInteger(record.attempts) && record.attempts > 0) decoded.attempts = record.attempts;
  if (record.error !== undefined) decoded.error = decodeTaskError(key, `${channel}.error`, record.error);
  return decoded;
}
