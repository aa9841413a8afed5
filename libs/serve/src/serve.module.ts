import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Head,
  HttpCode,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
} from '@nestjs/common';
import { parseChannelList } from '@subpack/pack';
import { isBadInput, type Extras } from '@subpack/rules';
import type { TaskStore } from '@subpack/state';
import { QuietNotFoundModule, type Logger } from '@subpack/runtime';
import { MasterCache } from '@subpack/pack';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AppRegistry, RegistryInputError } from './app-registry';
import { ApkResponder } from './apk-responder';
import { ChannelApks } from './channel-apks';
import { ServeAdmin, UnknownAppError } from './serve-admin';
import type { ServeConfig } from './serve-config';
import type { Redis } from 'ioredis';

export interface ServeDeps {
  redis: Redis;
  redisPrefix: string;
  store: TaskStore;
  config: ServeConfig;
  logger: Logger;
  /** Prometheus registry the service exposes on /metrics. */
  metrics?: Registry;
}

const RESPONDER = Symbol('APK_RESPONDER');
const ADMIN = Symbol('SERVE_ADMIN');
const DEPS = Symbol('SERVE_DEPS');

@Controller('apk')
class ApkController {
  constructor(@Inject(RESPONDER) private readonly responder: ApkResponder) {}

  @Get(':app/:file')
  get(@Param('app') app: string, @Param('file') file: string, @Query() query: Record<string, unknown>, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.responder.respond({ app, file, query }, req, res);
  }

  @Head(':app/:file')
  head(@Param('app') app: string, @Param('file') file: string, @Query() query: Record<string, unknown>, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.responder.respond({ app, file, query }, req, res);
  }
}

/** `Authorization: Bearer <SUBPACK_SERVE_ADMIN_TOKEN>`, compared in constant time; no token configured, no admin. */
@Injectable()
class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@Inject(DEPS) deps: ServeDeps) {
    this.expected = deps.config.adminToken ? digest(deps.config.adminToken) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) throw new NotFoundException('the admin endpoint is off: set SUBPACK_SERVE_ADMIN_TOKEN to enable it');
    const auth = context.switchToHttp().getRequest<IncomingMessage>().headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    // Digests have equal length, so timingSafeEqual never throws and the comparison leaks nothing about the token.
    return m !== null && timingSafeEqual(digest(m[1]!), this.expected);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Bad input answers 400 with the reason, an unknown app 404; anything else is a server fault. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UnknownAppError) throw new NotFoundException(err.message);
    if (isBadInput(err)) throw new BadRequestException(err.message);
    throw err;
  }
}

@Controller('admin/apps')
@UseGuards(AdminTokenGuard)
class AdminController {
  constructor(
    @Inject(ADMIN) private readonly admin: ServeAdmin,
    @Inject(DEPS) private readonly deps: ServeDeps,
  ) {}

  @Get()
  list() {
    return answer(() => this.admin.registry.listApps());
  }

  @Get(':app')
  get(@Param('app') app: string) {
    return answer(() => this.admin.app(app));
  }

  @Put(':app')
  put(@Param('app') app: string, @Body() body: unknown) {
    return answer(() => this.admin.putApp(app, asObject(body)));
  }

  @Delete(':app')
  @HttpCode(204)
  async remove(@Param('app') app: string): Promise<void> {
    await answer(async () => {
      if (!(await this.admin.registry.removeApp(app))) throw new UnknownAppError(`no app ${JSON.stringify(app)}`);
    });
  }

  @Get(':app/channels')
  channels(@Param('app') app: string) {
    return answer(async () => this.admin.registry.listChannels((await this.admin.app(app)).name));
  }

  /**
   * Body: `{ "channels": ["huawei", "oppo"] }`, `{ "channels": [{ "id": "huawei", "extras": {…} }, …] }` (the two
   * may be mixed) or `{ "list": "<channels file text>" }`.
   */
  @Post(':app/channels')
  addChannels(@Param('app') app: string, @Body() body: unknown) {
    return answer(async () => {
      const b = asObject(body);
      if (typeof b.list === 'string') return this.admin.putChannels(app, parseChannelList(b.list, 'list'));
      if (!Array.isArray(b.channels)) {
        throw new RegistryInputError('body needs "channels": ["<id>", …] or [{ "id": …, "extras": {…} }], or "list": "<channels file text>"');
      }
      const specs = (b.channels as unknown[]).map((c, i) => {
        if (typeof c === 'string') return { id: c, extras: {} };
        if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new RegistryInputError(`channels[${i}] must be a channel id or { "id": …, "extras": {…} }`);
        const o = c as Record<string, unknown>;
        if (typeof o.id !== 'string') throw new RegistryInputError(`channels[${i}].id must be a string`);
        return { id: o.id, extras: (o.extras ?? {}) as Extras };
      });
      return this.admin.putChannels(app, specs);
    });
  }

  @Delete(':app/channels/:channel')
  @HttpCode(204)
  async removeChannel(@Param('app') app: string, @Param('channel') channel: string): Promise<void> {
    await answer(async () => {
      if ((await this.admin.registry.removeChannels((await this.admin.app(app)).name, [channel])) === 0) {
        throw new UnknownAppError(`app ${JSON.stringify(app)} has no channel ${JSON.stringify(channel)}`);
      }
    });
  }

  /** Body: `{ "taskId": "…" }`: the channels a finished pack task stored, where their bytes match this app. */
  @Post(':app/channels/import')
  importTask(@Param('app') app: string, @Body() body: unknown) {
    return answer(async () => {
      const taskId = asObject(body).taskId;
      if (typeof taskId !== 'string') throw new RegistryInputError('body needs "taskId": "<id of a finished pack task>"');
      return this.admin.importTask(app, this.deps.store, taskId);
    });
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RegistryInputError('the body must be a JSON object');
  return value as Record<string, unknown>;
}

function responseMetrics(registry: Registry | undefined) {
  if (!registry) return undefined;
  const responses = new Counter({ name: 'subpack_serve_responses_total', help: 'APK responses by status', labelNames: ['status'], registers: [registry] });
  const bytes = new Counter({ name: 'subpack_serve_bytes_total', help: 'APK body bytes sent', registers: [registry] });
  const streaming = new Gauge({ name: 'subpack_serve_downloads_in_progress', help: 'APK bodies being streamed', registers: [registry] });
  return {
    onResponse: (status: number) => responses.inc({ status: String(status) }),
    onBytes: (n: number) => bytes.inc(n),
    onStreaming: (delta: 1 | -1) => streaming.inc(delta),
  };
}

/** GET/HEAD /apk/<app>/<channel>.apk and the token-protected /admin/apps registry endpoint. */
@Module({})
export class ServeModule {
  static forRoot(deps: ServeDeps): DynamicModule {
    const registry = new AppRegistry(deps.redis, deps.redisPrefix);
    const apks = new ChannelApks(registry, new MasterCache(deps.config.masterRoots));
    const responder = new ApkResponder(
      registry,
      apks,
      { urlKey: deps.config.urlKey || undefined, maxAgeSeconds: deps.config.maxAgeSeconds, logger: deps.logger },
      responseMetrics(deps.metrics),
    );
    return {
      module: ServeModule,
      imports: [QuietNotFoundModule],
      controllers: [ApkController, AdminController],
      providers: [
        { provide: DEPS, useValue: deps },
        { provide: RESPONDER, useValue: responder },
        { provide: ADMIN, useValue: new ServeAdmin(registry, apks) },
        AdminTokenGuard,
      ],
    };
  }
}
