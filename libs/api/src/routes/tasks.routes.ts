import { Type } from '@sinclair/typebox';
import { defineRoute, type Route } from '../http/route';
import { problem } from '../http/problem';
import { streamExport } from '../export';
import { SharedAnswers } from '../shared-answers';
import { ChannelResultSchema, Page, PageQuery, TaskCreateSchema, TaskDetailSchema, TaskPreviewSchema, TaskStateSchema, TaskSummarySchema } from '../schemas';
import type { ApiServices } from '../services';

/** Inline channel lists of 10 000 channels with extras fit; larger bodies are refused before they are read. */
const TASK_BODY_LIMIT = 16 * 1024 * 1024;

const CancelledSchema = Type.Object(
  { taskId: Type.String(), status: Type.String(), cancelled: Type.Boolean({ description: 'False when the task had already finished; its status is given.' }), done: Type.Integer(), failed: Type.Integer(), total: Type.Integer() },
  { title: 'CancelOutcome' },
);

/** How long one computed page of the task list answers the same query. */
const LIST_SHARED_MS = 500;

const RetrySchema = Type.Object({ taskId: Type.String(), started: Type.Boolean(), attempt: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()) }, { title: 'RetryOutcome' });

export function taskRoutes(s: ApiServices): Route[] {
  const lists = new SharedAnswers<Awaited<ReturnType<ApiServices['tasks']['list']>>>(LIST_SHARED_MS);
  return [
    defineRoute({
      method: 'POST',
      path: '/tasks/preview',
      access: 'viewer',
      operationId: 'previewTask',
      summary: 'Check a task and show the first file names, warnings and the estimated size, without sending it',
      tag: 'tasks',
      body: TaskCreateSchema,
      bodyLimit: TASK_BODY_LIMIT,
      audit: false,
      responses: { 200: { description: 'The task as it would run.', schema: TaskPreviewSchema } },
      handle: async ({ body }) => ({ body: await s.tasks.preview(body) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/tasks',
      access: 'operator',
      operationId: 'createTask',
      summary: 'Create a task from a master, a channel list (or inline channels) and a destination',
      tag: 'tasks',
      body: TaskCreateSchema,
      bodyLimit: TASK_BODY_LIMIT,
      responses: { 201: { description: 'Sent to the packers.', schema: TaskSummarySchema }, 404: { description: 'Unknown master, list or destination.' }, 409: { description: 'The taskId is taken.' }, 503: { description: 'RabbitMQ did not take the task.' } },
      handle: async ({ body, principal, note }) => {
        const view = await s.tasks.create(body, principal!.name);
        lists.clear();
        note(view.taskId);
        return { status: 201, body: view, headers: { location: `/api/v1/tasks/${encodeURIComponent(view.taskId)}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks',
      access: 'viewer',
      operationId: 'listTasks',
      summary: 'Tasks, newest first, filtered by state, app (package), creator and time',
      tag: 'tasks',
      query: Type.Object({
        ...PageQuery,
        state: Type.Optional(TaskStateSchema),
        app: Type.Optional(Type.String({ maxLength: 256, description: 'The package name.' })),
        creator: Type.Optional(Type.String({ maxLength: 64 })),
        from: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after.' })),
        to: Type.Optional(Type.String({ format: 'date-time', description: 'Created before.' })),
      }),
      responses: { 200: { description: 'A page of tasks.', schema: Page(TaskSummarySchema, 'TaskPage') } },
      // The same query within half a second gets the same page: the list is polled by many at once, and its changes
      // reach the console live over /events.
      handle: async ({ query }) => ({ body: await lists.get(JSON.stringify(query), () => s.tasks.list({ ...query, limit: query.limit ?? 50 })) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}',
      access: 'viewer',
      operationId: 'getTask',
      summary: 'A task with its counts, throughput, ETA and failure reasons',
      tag: 'tasks',
      responses: { 200: { description: 'The task.', schema: TaskDetailSchema }, 404: { description: 'No such task.' } },
      handle: async ({ params }) => ({ body: await s.tasks.detail(params['id']!) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}/channels',
      access: 'viewer',
      operationId: 'listTaskChannels',
      summary: 'Per-channel results (status, bytes, digests, reason, attempts), a page at a time (about `limit` each: Redis scans in steps)',
      tag: 'tasks',
      query: Type.Object({
        ...PageQuery,
        status: Type.Optional(Type.Union([Type.Literal('stored'), Type.Literal('failed')])),
        q: Type.Optional(Type.String({ maxLength: 256, description: 'Only channels whose id contains this text.' })),
      }),
      responses: { 200: { description: 'A page of channel results.', schema: Page(ChannelResultSchema, 'ChannelResultPage') }, 404: { description: 'No such task.' } },
      handle: async ({ params, query }) => ({ body: await s.tasks.channels(params['id']!, { cursor: query.cursor, limit: query.limit ?? 50, status: query.status, q: query.q }) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}/export',
      access: 'viewer',
      operationId: 'exportTask',
      summary: 'The stored channels as CSV or JSON (channel, url, bytes, md5, sha256), as sent to partners',
      tag: 'tasks',
      query: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'csv' })) }),
      responses: { 200: { description: 'The export, streamed.', contentType: 'text/csv' }, 404: { description: 'No such task.' } },
      handle: async ({ params, query, res }) => {
        await s.tasks.summary(params['id']!);
        await streamExport(res, params['id']!, query.format ?? 'csv', s.tasks.results(params['id']!));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tasks/{id}/events',
      access: 'viewer',
      operationId: 'followTask',
      summary: 'Server-Sent Events: the task’s state a few times a second until it finishes (Last-Event-ID resumes)',
      tag: 'tasks',
      responses: { 200: { description: 'An event stream of `task` events, then one `end`.', contentType: 'text/event-stream' }, 404: { description: 'No such task.' } },
      handle: async ({ params, req, res }) => {
        await s.tasks.summary(params['id']!);
        await s.live.subscribe(req, res, params['id']!);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/events',
      access: 'viewer',
      operationId: 'followTasks',
      summary: 'Server-Sent Events of every task that changes, for the task list',
      tag: 'tasks',
      responses: { 200: { description: 'An event stream of `task` events.', contentType: 'text/event-stream' } },
      handle: async ({ req, res }) => {
        await s.live.subscribe(req, res, null);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/tasks/{id}/cancel',
      access: 'operator',
      operationId: 'cancelTask',
      summary: 'Stop a running task: unplanned batches are skipped, stored channels stay, it ends cancelled',
      tag: 'tasks',
      responses: { 200: { description: 'What the cancel did.', schema: CancelledSchema }, 404: { description: 'No such task.' } },
      handle: async ({ params, principal, note }) => {
        note(params['id']!);
        const outcome = await s.cancel(params['id']!, principal!.name);
        lists.clear();
        s.live.touch(params['id']!);
        return { body: outcome };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/tasks/{id}/retry',
      access: 'operator',
      operationId: 'retryTask',
      summary: 'Run a failed or partial task again (its stored channels are kept)',
      tag: 'tasks',
      responses: { 200: { description: 'Started, or why not.', schema: RetrySchema } },
      handle: async ({ params, note }) => {
        note(params['id']!);
        const started = await s.retry(params['id']!);
        lists.clear();
        if (!started.started && started.reason === undefined) throw problem('CONFLICT', 'the task cannot be retried now');
        s.live.touch(params['id']!);
        return { body: { taskId: params['id']!, ...started } };
      },
    }),
  ];
}
