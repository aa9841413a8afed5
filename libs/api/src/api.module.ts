import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { packTaskMessageId } from '@subpack/contracts';
import { describeError, ParkingLot } from '@subpack/messaging';
import { eventRoutingKey, EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import type { ServiceContext } from '@subpack/runtime';
import { cancelTask, prepareParkedReplay, retryTask } from '@subpack/workflow';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiTokens, ensureFirstAdmin, firstAdminFrom, readSessionCookie, roleAllows, sameSecret, Sessions, sessionOptionsFrom, Users } from './accounts';
import type { ApiConfig } from './api-config';
import { consoleFiles, type ConsoleFiles } from './console-files';
import { AuditLog } from './audit';
import { ChannelLists } from './channel-lists';
import { Destinations } from './destinations';
import { openApiDocument } from './http/openapi';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiProblem, problem, problemBody } from './http/problem';
import { API_PREFIX, ApiRouter, type Authenticator } from './http/router';
import { defineRoute, type Route } from './http/route';
import { LiveFeed } from './live';
import { redactedBody } from './redact';
import { accountRoutes } from './routes/accounts.routes';
import { catalogueRoutes } from './routes/catalogue.routes';
import { linkRoutes } from './routes/links.routes';
import { serveRoutes } from './routes/serve.routes';
import { notifyRoutes } from './routes/notify.routes';
import { AppRegistry } from '@subpack/serve';
import { masterRoutes } from './routes/masters.routes';
import { FileLinks } from './links';
import { MasterRegistry, MasterUploads, type UploadRoot } from './masters';
import { operationsRoutes } from './routes/operations.routes';
import { taskRoutes } from './routes/tasks.routes';
import type { ApiServices } from './services';
import { SystemView } from './system';
import { TaskService, type TaskView } from './tasks';
import { Throughput } from './throughput';
import { Type } from '@sinclair/typebox';

const API_VERSION = '1.0.0';
const ROUTER = Symbol('API_ROUTER');

/** Everything the API is made of, built once from the service's context. */
export interface ApiParts {
  router: ApiRouter;
  /** The web console's files, when built. */
  console: ConsoleFiles | null;
  live: LiveFeed<TaskView>;
  /** Once Redis and the broker answer: the first admin, and following the events exchange. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the API without touching Redis or the broker (a service waiting for them is alive, not ready). */
export function buildApi(ctx: ServiceContext<ApiConfig>): ApiParts {
  const { redis, store, config, logger, manager, owner } = ctx;
  const prefix = config.redisPrefix;
  const publisher = manager.publisher;
  const users = new Users(redis, prefix);
  const sessions = new Sessions(redis, prefix, users, sessionOptionsFrom(config));
  const tokens = new ApiTokens(redis, prefix);
  const lists = new ChannelLists(redis, prefix, config.maxChannels);
  const destinations = new Destinations(redis, prefix, config.destinations, config.targetRoots);
  const throughput = new Throughput(redis, prefix);
  const system = new SystemView(manager, redis);
  let uploads: MasterUploads | null = null;
  const registry = new MasterRegistry({ redis, keyPrefix: prefix, roots: config.masterRoots, uploads: { remove: async (id) => uploads?.remove(id) } });
  if (config.linkKey === undefined) logger.warn({}, 'SUBPACK_API_LINK_KEY is not set: download links of file:// destinations stop working when this process restarts, and other replicas refuse them');
  const fileLinks = new FileLinks(config.linkKey ?? randomBytes(32));
  const tasks = new TaskService({
    redis,
    prefix,
    store,
    lists,
    destinations,
    maxChannels: config.maxChannels,
    masters: { facts: (id) => registry.get(id) },
    send: (task) => publisher.publish(EXCHANGES.main, ROUTING_KEYS.packTask, task, { messageId: packTaskMessageId(task.taskId) }),
  });
  const live = new LiveFeed<TaskView>({
    manager,
    logger,
    read: (taskId) => tasks.summary(taskId).catch(() => null),
    onEvent: (routingKey, messageId) => {
      if (routingKey !== STORED_ROUTING_KEY || messageId === undefined) return;
      throughput.countStored(messageId).catch((err: unknown) => logger.warn({ error: describeError(err) }, 'cannot count a stored channel'));
    },
  });
  const audit = new AuditLog(redis, prefix, (record, messageId) => publisher.publish(EXCHANGES.main, ROUTING_KEYS.auditRecorded, record, { messageId }));
  const services: ApiServices = {
    tasks,
    lists,
    destinations,
    live,
    audit,
    parked: {
      list: async (limit) =>
        (await new ParkingLot(manager).listParked(limit)).map((p) => ({
          id: p.id,
          reason: p.reason,
          attempt: p.attempt,
          originQueue: p.originQueue ?? null,
          routingKey: p.originRoutingKey ?? null,
          parkedAt: p.parkedAt ?? null,
          body: redactedBody(p.body),
        })),
      replay: async (selection) => {
        const result = await new ParkingLot(manager).replayParked(selection, { gate: (m) => prepareParkedReplay(store, { routingKey: m.originRoutingKey, body: m.body }) });
        const found = new Set([...result.replayed, ...result.skipped.map((s) => s.id)]);
        const missing = 'ids' in selection ? selection.ids.filter((id) => !found.has(id)) : [];
        return { replayed: [...result.replayed], skipped: result.skipped.map((s) => ({ id: s.id, reason: s.reason })), missing };
      },
    },
    cancel: async (taskId, by) => {
      await tasks.summary(taskId);
      const outcome = await cancelTask({ store, publisher, owner }, taskId, by);
      if (outcome.outcome === 'no-task') throw problem('CONFLICT', `task ${JSON.stringify(taskId)} has not been accepted by a packer yet; cancel it again in a moment`);
      return { taskId, status: outcome.status, cancelled: outcome.outcome === 'cancelled', done: outcome.done, failed: outcome.failed, total: outcome.total };
    },
    retry: async (taskId) => {
      await tasks.summary(taskId);
      return retryTask({ store, publisher }, taskId);
    },
    systemOverview: async () => {
      const [overview, minutes, quiet] = await Promise.all([system.overview(), throughput.lastMinutes(60), store.quietTasks(0, 100)]);
      const stalledTasks: { taskId: string; stalledAt: string }[] = [];
      for (const q of quiet) {
        const s = await store.getTaskSummary(q.taskId);
        if (s?.stalledAt !== undefined) stalledTasks.push({ taskId: q.taskId, stalledAt: s.stalledAt });
      }
      return { ...overview, stalledTasks, throughput: minutes };
    },
  };
  const authenticator: Authenticator = {
    authenticate: async (req) => {
      const header = req.headers.authorization;
      if (header !== undefined) return tokens.authenticateBearer(header);
      return sessions.authenticateSession(readSessionCookie(req.headers.cookie));
    },
    csrfOk: (principal, header) => principal.kind === 'session' && header !== undefined && sameSecret(principal.csrfToken, header),
    allows: roleAllows,
  };
  const routes: Route[] = [
    ...accountRoutes({ users, sessions, tokens, secureCookies: config.secureCookies }),
    ...masterRoutes({ registry, uploads: () => uploads }, services),
    ...taskRoutes(services),
    ...linkRoutes({ store, fileLinks, targetRoots: config.targetRoots, lifetimeSeconds: config.linkTtlSeconds, publicUrl: config.publicUrl, trustProxy: config.trustProxy }, services),
    ...serveRoutes({ registry: new AppRegistry(redis, prefix), serveUrl: config.serveUrl, urlKey: config.serveUrlKey === '' ? undefined : config.serveUrlKey, lifetimeSeconds: config.linkTtlSeconds }),
    ...catalogueRoutes(services),
    ...notifyRoutes(config.notifyAllowlist),
    ...operationsRoutes(services),
  ];
  let document: Record<string, unknown> | undefined;
  routes.push(
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      operationId: 'openApi',
      summary: 'This document',
      tag: 'meta',
      responses: { 200: { description: 'The OpenAPI 3.1 document.', schema: Type.Object({ openapi: Type.String() }) } },
      handle: async () => ({ body: (document ??= openApiDocument(routes, { version: API_VERSION })) }),
    }),
  );
  const router = new ApiRouter(routes, {
    authenticator,
    audit: (entry) => audit.record(entry),
    onError: (err, req) => logger.error({ error: describeError(err), 'http.method': req.method, 'url.path': req.url?.split('?')[0] }, 'API request failed'),
    trustProxy: config.trustProxy,
    ready: () => ready,
    checkResponses: config.checkResponses,
  });
  let sweep: NodeJS.Timeout | undefined;
  // Requests that arrive before the first admin and the upload store exist wait for them instead of failing.
  let started!: () => void;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  const startup = async (steps: () => Promise<void>): Promise<void> => {
    await steps();
    started();
  };
  return {
    router,
    console: consoleFiles(config.consoleDir),
    live,
    start: async () => {
      await startup(async () => {
        const first = await ensureFirstAdmin(users, firstAdminFrom(config));
      if (first.created) logger.info({ user: first.name }, `created the first admin ${first.name} from the configuration`);
      uploads = await MasterUploads.create({
        root: uploadRoot(config.masterRoots.roots),
        basePath: `${API_PREFIX}/masters/uploads`,
        maxBytes: config.maxUploadBytes,
        expireAfterMs: UNFINISHED_UPLOAD_MS,
        onUploaded: (upload, by) => registry.fromUpload(upload, by),
      });
      sweep = setInterval(() => void uploads?.cleanUpExpired().catch((err: unknown) => logger.warn({ error: describeError(err) }, 'cannot remove expired uploads')), 3600_000);
      sweep.unref();
        await live.start();
      });
    },
    close: async () => {
      if (sweep) clearInterval(sweep);
      live.stop();
      await uploads?.close();
    },
  };
}

/** The events the System page's throughput chart counts. */
const STORED_ROUTING_KEY = eventRoutingKey('channel.stored');

/** Unfinished uploads are removed after a day without a byte. */
const UNFINISHED_UPLOAD_MS = 24 * 3600_000;

/** Uploads go to `uploads/` under the first file:// master root, else under the first object-store root. */
function uploadRoot(roots: readonly string[]): UploadRoot {
  const file = roots.find((r) => r.startsWith('file:'));
  if (file !== undefined) return { kind: 'file', directory: join(fileURLToPath(file), 'uploads') };
  const s3 = roots.find((r) => r.startsWith('s3:'));
  if (s3 !== undefined) return { kind: 's3', url: `${s3.replace(/\/+$/, '')}/uploads/` };
  throw new Error('SUBPACK_MASTER_ROOTS has no file:// or s3:// root to keep uploads in');
}

/**
 * A request Node cannot parse (a head over its size limit, e.g. a huge query string; not HTTP; too slow) is answered
 * with a problem document like every other refusal, instead of Node's bare status line.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // Node reports the same bad request again while the answer is being written: it is answered already.
  if (socket.writableEnded) return;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request line and headers are too large (a long query string or cookie); send less']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request did not arrive in time']
        : [400, 'Bad Request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(problemBody(new ApiProblem('MALFORMED_REQUEST', detail, { status })));
  // Read and drop what the client is still sending (closing with unread bytes would reset the connection and lose
  // the answer), for a few seconds at most.
  socket.on('error', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), 5000).unref();
  socket.on('close', () => clearTimeout(timer));
  socket.resume();
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`);
}

@Injectable()
class ApiMount implements OnModuleInit {
  constructor(
    @Inject(ROUTER) private readonly parts: ApiParts,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<{ disable(setting: string): void; use(fn: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void): void }>();
    app.disable('x-powered-by');
    (this.adapterHost.httpAdapter.getHttpServer() as Server).on('clientError', answerClientError);
    app.use((req, res, next) => {
      res.setHeader('x-content-type-options', 'nosniff');
      this.parts.router.handle(req, res).then((handled) => {
        if (!handled && !this.parts.console?.handle(req, res)) next();
      }, next);
    });
  }

}

@Module({})
export class ApiModule {
  static forParts(parts: ApiParts): DynamicModule {
    return { module: ApiModule, providers: [{ provide: ROUTER, useValue: parts }, ApiMount] };
  }
}
