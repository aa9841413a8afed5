import { Type } from '@sinclair/typebox';
import { defineRoute, type Route } from '../http/route';
import { Page, PageQuery } from '../schemas';
import type { ApiServices } from '../services';

const ParkedSchema = Type.Object(
  {
    id: Type.String(),
    reason: Type.String(),
    attempt: Type.Integer(),
    originQueue: Type.Union([Type.String(), Type.Null()]),
    routingKey: Type.Union([Type.String(), Type.Null()]),
    parkedAt: Type.Union([Type.String(), Type.Null()]),
    body: Type.String({ description: 'The message (JSON), secrets replaced by ***.' }),
  },
  { title: 'ParkedMessage' },
);

const ReplaySchema = Type.Object(
  { replayed: Type.Array(Type.String()), skipped: Type.Array(Type.Object({ id: Type.String(), reason: Type.String() })), missing: Type.Array(Type.String()) },
  { title: 'ReplayOutcome' },
);

const QueueSchema = Type.Object({ queue: Type.String(), messages: Type.Union([Type.Integer(), Type.Null()]), consumers: Type.Union([Type.Integer(), Type.Null()]), error: Type.Optional(Type.String()) });

const SystemSchema = Type.Object(
  {
    broker: Type.Object({ state: Type.String(), node: Type.Union([Type.String(), Type.Null()]) }),
    redis: Type.Object({ state: Type.String() }),
    queues: Type.Array(QueueSchema),
    services: Type.Array(Type.Object({ service: Type.String(), queue: Type.String(), consumers: Type.Union([Type.Integer(), Type.Null()]), ready: Type.Boolean() })),
    stalledTasks: Type.Array(Type.Object({ taskId: Type.String(), stalledAt: Type.String() })),
    throughput: Type.Array(Type.Object({ minute: Type.String(), stored: Type.Integer() }), { description: 'Channels stored per minute, the last hour, oldest first.' }),
  },
  { title: 'System' },
);

const AuditSchema = Type.Object(
  {
    seq: Type.Integer(),
    actor: Type.String(),
    role: Type.Union([Type.String(), Type.Null()]),
    action: Type.String(),
    method: Type.String(),
    path: Type.String(),
    status: Type.Integer(),
    subject: Type.Optional(Type.String()),
    ip: Type.String(),
    at: Type.String(),
  },
  { title: 'AuditRecord' },
);

/** What operators look after: parked messages, the engines and queues, and the audit trail. */
export function operationsRoutes(s: ApiServices): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/parked',
      access: 'viewer',
      operationId: 'listParked',
      summary: 'Messages that gave up, with their reasons',
      tag: 'parked',
      query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
      responses: { 200: { description: 'The parked messages (a peek; they stay parked).', schema: Type.Object({ items: Type.Array(ParkedSchema) }) } },
      handle: async ({ query }) => ({ body: { items: await s.parked.list(query.limit ?? 100) } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/parked/replay',
      access: 'operator',
      operationId: 'replayParked',
      summary: 'Send parked messages back to work, by id or all (as `subpack parked replay`)',
      tag: 'parked',
      body: Type.Object({ ids: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { minItems: 1, maxItems: 1000 })), all: Type.Optional(Type.Literal(true)) }, { additionalProperties: false }),
      responses: { 200: { description: 'What was replayed, skipped (with why) or not found.', schema: ReplaySchema } },
      handle: async ({ body, note }) => {
        note(body.all === true ? 'all' : (body.ids ?? []).join(',').slice(0, 200));
        return { body: await s.parked.replay(body.all === true ? { all: true } : { ids: body.ids ?? [] }) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/system',
      access: 'viewer',
      operationId: 'getSystem',
      summary: 'Services and their readiness, queue depths and consumers, stalled tasks, stored channels per minute',
      tag: 'system',
      responses: { 200: { description: 'The system.', schema: SystemSchema } },
      handle: async () => ({ body: await s.systemOverview() }),
    }),
    defineRoute({
      method: 'GET',
      path: '/audit',
      access: 'admin',
      operationId: 'listAudit',
      summary: 'Every write: who, what, when, from where; newest first',
      tag: 'audit',
      query: Type.Object(PageQuery),
      responses: { 200: { description: 'A page of audit records.', schema: Page(AuditSchema, 'AuditPage') } },
      handle: async ({ query }) => ({ body: await s.audit.list({ cursor: query.cursor, limit: query.limit ?? 50 }) }),
    }),
  ];
}
