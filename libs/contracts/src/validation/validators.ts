import {
  DEFAULT_NAMING,
  MAX_CHANNELS,
  SHORTEST_APK_VALUES,
  channelIdProblem,
  extrasProblems,
  fileNameLengthProblem,
  mergeExtras,
  namingTemplateProblems,
  quoted,
  renderFileName,
  withDigestStandIns,
  type Extras,
} from '@subpack/rules';
import type { AuditRecord } from '../schemas/audit';
import type { SchemaName } from '../schemas/catalog';
import type { ChannelStoreJob } from '../schemas/channel-store-job';
import {
  EVENT_TYPES,
  eventSchemaName,
  type EventOf,
  type EventSchemaName,
  type EventType,
  type SubpackEvent,
  type TaskCompletedEvent,
} from '../schemas/events';
import { STANDARD_WEBHOOKS_SECRET_PATTERN, type NotifyDelivery, type NotifySubscription } from '../schemas/notify';
import type { FailureHeaders } from '../schemas/failure-headers';
import type { PackBatch } from '../schemas/pack-batch';
import type { Channel, PackTask } from '../schemas/pack-task';
import { compiledSchemaValidator, compiledValidator } from './ajv';
import { capped, describeErrors } from './describe-errors';
import type { ValidationResult } from './result';

/** Checks a schema cannot express; they run after the schema passed, on the typed value. */
type SemanticCheck<T> = (value: T) => string[];

function validateAgainst<T>(name: SchemaName, body: unknown, ...checks: SemanticCheck<T>[]): ValidationResult<T> {
  const validate = compiledValidator(name);
  if (!validate(body)) return { ok: false, errors: describeErrors(validate.errors ?? [], body) };
  const value = body as T;
  const errors = checks.flatMap((check) => check(value));
  return errors.length === 0 ? { ok: true, value } : { ok: false, errors: capped(errors) };
}

export interface PackTaskLimits {
  /** Configured cap on channels per task; MAX_CHANNELS when absent. */
  readonly maxChannels?: number;
}

export function validatePackTask(body: unknown, limits: PackTaskLimits = {}): ValidationResult<PackTask> {
  return validateAgainst<PackTask>('pack-task', body, uniqueChannelIds, (task) => channelCap(task, limits), channelRules, namingRules, subscriptionSecrets);
}

export function validateChannel(body: unknown): ValidationResult<Channel> {
  return validateAgainst<Channel>('channel', body, (channel) => channelRules({ channels: [channel] }).map((e) => e.replace(/^channels\[0\]\./, '')));
}

/**
 * A list of subscriptions outside a task (e.g. the notifier's configured ones). Errors are prefixed with `path`; they
 * never quote a secret.
 */
export function validateNotifySubscriptions(body: unknown, path: string): ValidationResult<NotifySubscription[]> {
  if (!Array.isArray(body)) return { ok: false, errors: [`${path}: must be a list of subscriptions`] };
  const errors = body.flatMap((item: unknown, index) => {
    const result = validateAgainst<NotifySubscription>('notify-subscription', item);
    return result.ok ? [] : result.errors.map((error) => `${path}[${index}]${error.startsWith('unknown field') ? `: ${error}` : `.${error}`}`);
  });
  if (errors.length > 0) return { ok: false, errors: capped(errors) };
  const list = body as NotifySubscription[];
  const problems = subscriptionProblems(list, path);
  return problems.length === 0 ? { ok: true, value: list } : { ok: false, errors: problems };
}

export function validatePackBatch(body: unknown): ValidationResult<PackBatch> {
  return validateAgainst<PackBatch>('pack-batch', body, uniqueBatchIds, batchPosition, batchIdRules);
}

export function validateChannelStoreJob(body: unknown): ValidationResult<ChannelStoreJob> {
  return validateAgainst<ChannelStoreJob>('channel-store-job', body, storeJobRules);
}

export function validateNotifyDelivery(body: unknown): ValidationResult<NotifyDelivery> {
  return validateAgainst<NotifyDelivery>('notify-delivery', body, deliveryEvents);
}

export function validateFailureHeaders(headers: unknown): ValidationResult<FailureHeaders> {
  return validateAgainst<FailureHeaders>('failure-headers', headers);
}

export function validateAuditRecord(body: unknown): ValidationResult<AuditRecord> {
  return validateAgainst<AuditRecord>('audit-record', body);
}

/** Checks on events that their schema cannot express, by type. */
const EVENT_CHECKS: { readonly [T in EventType]?: SemanticCheck<EventOf<T>> } = {
  'task.completed': countsAddUp,
  'task.cancelled': countsWithinTotal,
};

/** The validator of one event type: its catalogued schema, then its checks. */
export function eventValidator<T extends EventType>(type: T): (body: unknown) => ValidationResult<EventOf<T>> {
  const check = EVENT_CHECKS[type];
  return (body) => validateAgainst<EventOf<T>>(eventSchemaName(type), body, ...(check ? [check] : []));
}

const EVENT_VALIDATORS = Object.fromEntries(EVENT_TYPES.map((type) => [type, eventValidator(type)])) as {
  readonly [T in EventType]: (body: unknown) => ValidationResult<EventOf<T>>;
};

/** Validates any event, choosing the schema by its `type` field. */
export function validateEvent(body: unknown): ValidationResult<SubpackEvent> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: ['(root): must be an object'] };
  }
  const type = (body as Record<string, unknown>).type;
  if (type === undefined) return { ok: false, errors: ['type: is required'] };
  if (!isEventType(type)) return { ok: false, errors: [`type: must be one of ${EVENT_TYPES.join(', ')}`] };
  return EVENT_VALIDATORS[type](body);
}

export function isEventType(value: unknown): value is EventType {
  return (EVENT_TYPES as readonly unknown[]).includes(value);
}

function uniqueChannelIds(message: { channels: readonly Channel[] }): string[] {
  const firstIndexById = new Map<string, number>();
  const errors: string[] = [];
  message.channels.forEach((channel, index) => {
    const first = firstIndexById.get(channel.id);
    if (first === undefined) firstIndexById.set(channel.id, index);
    else errors.push(`channels[${index}].id: duplicates channels[${first}].id (${JSON.stringify(channel.id)})`);
  });
  return errors;
}

// The domain rules JSON Schema cannot state (byte caps, merged extras, invisible characters outside the BMP, rendered
// name lengths) come from @subpack/rules, the same functions `subpack pack` and the packer apply.

function channelRules(message: { channels: readonly Channel[]; extras?: Extras }): string[] {
  const errors: string[] = [];
  if (message.extras) errors.push(...extrasProblems(message.extras).map((p) => `extras: ${p}`));
  message.channels.forEach((channel, index) => {
    const idProblem = channelIdProblem(channel.id);
    if (idProblem) errors.push(`channels[${index}].id: ${idProblem}`);
    if (!channel.extras) return;
    const merged = message.extras ? ' (merged with the task-level extras)' : '';
    errors.push(...extrasProblems(mergeExtras(message.extras ?? {}, channel.extras)).map((p) => `channels[${index}].extras${merged}: ${p}`));
  });
  return errors;
}

/**
 * The template's own rules, then each channel's name rendered with the shortest values any APK can give: a name that
 * is too long then is too long for every master, so it is refused before publishing. The packer checks the real names
 * when it accepts the task.
 */
function namingRules(message: { naming?: string; channels: readonly Channel[] }): string[] {
  const template = message.naming ?? DEFAULT_NAMING;
  const templateErrors = namingTemplateProblems(template).map((p) => `naming: ${p}`);
  if (templateErrors.length > 0) return templateErrors;
  for (const [index, channel] of message.channels.entries()) {
    const name = renderFileName(template, withDigestStandIns({ ...SHORTEST_APK_VALUES, channel: channel.id }));
    const problem = fileNameLengthProblem(name);
    if (problem) return [`naming: the output name for channels[${index}] (${quoted(channel.id)}) ${problem}`];
  }
  return [];
}

function storeJobRules(job: ChannelStoreJob): string[] {
  const idProblem = channelIdProblem(job.channel);
  return idProblem ? [`channel: ${idProblem}`] : [];
}

function channelCap(task: PackTask, limits: PackTaskLimits): string[] {
  const max = limits.maxChannels ?? MAX_CHANNELS;
  if (task.channels.length <= max) return [];
  return [`channels: has ${task.channels.length} channels; the limit is ${max}`];
}

/** Checks one subscription list; also used for the notifier's configured (global) subscriptions. */
export function subscriptionProblems(subscriptions: readonly NotifySubscription[], path: string): string[] {
  const secretForm = new RegExp(STANDARD_WEBHOOKS_SECRET_PATTERN);
  return subscriptions.flatMap((subscription, index) => {
    const where = `${path}[${index}]`;
    if (subscription.secret !== undefined && subscription.secretRef !== undefined) {
      return [`${where}: give either secret or secretRef, not both`];
    }
    const format = subscription.format ?? 'json';
    if (format === 'wecom' && (subscription.secret !== undefined || subscription.secretRef !== undefined)) {
      return [`${where}: wecom robots take no secret (the key is in the URL)`];
    }
    // Never echo the secret itself: the error ends up in events and logs.
    if (format === 'json' && subscription.secret !== undefined && !secretForm.test(subscription.secret)) {
      return [`${where}.secret: must be a Standard Webhooks secret: whsec_ followed by base64`];
    }
    return [];
  });
}

function subscriptionSecrets(task: PackTask): string[] {
  return Array.isArray(task.notify) ? subscriptionProblems(task.notify, 'notify') : [];
}

function deliveryEvents(delivery: NotifyDelivery): string[] {
  return delivery.events.flatMap((event, index) => {
    const result = validateEvent(event);
    if (!result.ok) return result.errors.map((error) => `events[${index}].${error}`);
    return result.value.taskId === delivery.taskId ? [] : [`events[${index}].taskId: must be the delivery's taskId`];
  });
}

function batchPosition(batch: PackBatch): string[] {
  return batch.batch.index < batch.batch.count ? [] : [`batch.index: must be less than batch.count (${batch.batch.count})`];
}

function uniqueBatchIds(batch: PackBatch): string[] {
  return uniqueChannelIds({ channels: batch.channels.map((id) => ({ id })) }).map((error) => error.replaceAll('.id', ''));
}

function batchIdRules(batch: PackBatch): string[] {
  return batch.channels.flatMap((id, index) => {
    const problem = channelIdProblem(id);
    return problem ? [`channels[${index}]: ${problem}`] : [];
  });
}

function countsAddUp(event: TaskCompletedEvent): string[] {
  const errors: string[] = [];
  if (event.done + event.failed !== event.total) {
    errors.push(`total: must equal done + failed (${event.done + event.failed})`);
  }
  if (event.written !== undefined && event.kept !== undefined && event.written + event.kept !== event.done) {
    errors.push(`done: must equal written + kept (${event.written + event.kept})`);
  }
  const expectedStatus = event.failed === 0 ? 'done' : 'partial';
  if (event.status !== expectedStatus) {
    errors.push(`status: must be "${expectedStatus}" when failed is ${event.failed}`);
  }
  return errors;
}

/** A cancelled task stopped part-way: its channels accounted for cannot outnumber the task's. */
function countsWithinTotal(event: { done: number; failed: number; total: number }): string[] {
  return event.done + event.failed > event.total ? [`total: must be at least done + failed (${event.done + event.failed})`] : [];
}

/** Every catalogued schema's validator, for callers that pick the schema at run time (tests, tooling, replay). */
export const VALIDATORS_BY_SCHEMA: Readonly<Record<SchemaName, (body: unknown) => ValidationResult<unknown>>> = {
  'pack-task': (body) => validatePackTask(body),
  channel: validateChannel,
  'notify-subscription': (body) => validateNotifySubscriptions([body], 'notify'),
  'pack-batch': validatePackBatch,
  'channel-store-job': validateChannelStoreJob,
  ...(Object.fromEntries(EVENT_TYPES.map((type) => [eventSchemaName(type), EVENT_VALIDATORS[type]])) as Record<EventSchemaName, (body: unknown) => ValidationResult<unknown>>),
  'notify-delivery': validateNotifyDelivery,
  'failure-headers': validateFailureHeaders,
  'audit-record': validateAuditRecord,
};

/** Validates `body` against a schema that is not a catalogued message (see compiledSchemaValidator). */
export function validateAgainstSchema<T>(schema: object, body: unknown, options: { coerce?: boolean } = {}): ValidationResult<T> {
  const validate = compiledSchemaValidator(schema, options);
  return validate(body) ? { ok: true, value: body as T } : { ok: false, errors: describeErrors(validate.errors ?? [], body) };
}
