import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateAgainstSchema } from '@subpack/contracts';
import type { Principal, Role } from '../accounts';
import { ApiProblem, asProblem, problem, writeProblem } from './problem';
import { WRITE_METHODS, type HttpMethod, type Route } from './route';

/** Everything under this prefix is the API; other paths fall through to the next handler. */
export const API_PREFIX = '/api/v1';

/** Bodies above this are refused unless a route allows more. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface Authenticator {
  /** The caller of a request (session cookie or bearer token), or null. */
  authenticate(req: IncomingMessage): Promise<Principal | null>;
  /** Whether a cookie-authenticated write carries its session's CSRF token. */
  csrfOk(principal: Principal, header: string | undefined): boolean;
  allows(role: Role, needed: Role): boolean;
}

export interface AuditEntry {
  actor: string;
  role: Role | null;
  action: string;
  method: HttpMethod;
  path: string;
  status: number;
  subject?: string;
  ip: string;
  at: string;
}

export interface RouterOptions {
  authenticator: Authenticator;
  /** Called after each audited write that was answered (with its status, also a refusal). */
  audit(entry: AuditEntry): Promise<void>;
  /** Each unexpected error, for the log (the caller sees INTERNAL only). */
  onError(err: unknown, req: IncomingMessage): void;
  /** Take the first X-Forwarded-For hop as the caller's address (behind a proxy the operator trusts). */
  trustProxy: boolean;
  /** Resolves once the API has started (first admin, upload store); requests wait for it, at most a few seconds. */
  ready?(): Promise<void>;
  /** Check every JSON answer against its documented schema and fail the request when it differs (tests). */
  checkResponses?: boolean;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

function decodeParam(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw problem('MALFORMED_REQUEST', `path parameter ${name} is not valid percent-encoding`);
  }
}

/** Reads a body up to `limit` bytes; more is refused as soon as it is seen, without reading the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(problem('PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; this endpoint takes at most ${limit}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(problem('PAYLOAD_TOO_LARGE', `the body is over ${limit} bytes, the most this endpoint takes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onAbort = (): void => {
      cleanup();
      reject(problem('MALFORMED_REQUEST', 'the client closed the connection before the body ended'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAbort);
      req.off('error', onAbort);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAbort);
    req.on('error', onAbort);
  });
}

function callerIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** How long a request waits for the API to finish starting before it is told to come back. */
const READY_WAIT_MS = 5000;

/** Media types a JSON body may come as; anything else is refused before reading. */
const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Dispatches /api/v1 requests to the route table: match, authenticate, role, CSRF, bounded body, schema checks, then
 * the handler; every refusal is a problem document, and every write is audited, refused or not.
 */
export class ApiRouter {
  private readonly compiled: CompiledRoute[];

  constructor(
    readonly routes: readonly Route[],
    private readonly options: RouterOptions,
  ) {
    this.compiled = routes.map(compile);
  }

  /** True when the request was for the API (and has been answered or is being streamed). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return false;
    const path = url.pathname.slice(API_PREFIX.length) || '/';
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    const ip = callerIp(req, this.options.trustProxy);
    let matched: CompiledRoute | undefined;
    let principal: Principal | null = null;
    let subject: string | undefined;
    let status = 500;
    try {
      await this.waitUntilReady();
      const found = this.match(method, path);
      matched = found.route;
      const { route } = found.route;
      principal = await this.options.authenticator.authenticate(req);
      this.authorize(route, method, principal, req);
      const query = this.checkedQuery(route, url.searchParams);
      const body = await this.checkedBody(route, req);
      const reply = await route.handle({
        req,
        res,
        params: found.params,
        query,
        body,
        principal,
        ip,
        note: (s) => {
          subject = s;
        },
      });
      if (reply !== undefined) this.writeReply(route, res, reply);
      status = res.statusCode;
    } catch (err) {
      const p = asProblem(err);
      if (p.code === 'INTERNAL') this.options.onError(err, req);
      status = p.status;
      writeProblem(res, p, url.pathname);
    }
    if (matched && WRITE_METHODS.has(method) && matched.route.audit !== false) {
      await this.options
        .audit({
          actor: principal?.name ?? 'anonymous',
          role: principal?.role ?? null,
          action: matched.route.operationId,
          method,
          path: url.pathname,
          status,
          ...(subject !== undefined ? { subject } : {}),
          ip,
          at: new Date().toISOString(),
        })
        .catch((err: unknown) => this.options.onError(err, req));
    }
    return true;
  }

  private async waitUntilReady(): Promise<void> {
    const ready = this.options.ready?.();
    if (ready === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(problem('UNAVAILABLE', 'the API is still starting (waiting for Redis or storage); try again in a moment', { retryAfterSeconds: 2 })), READY_WAIT_MS);
    });
    try {
      await Promise.race([ready, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private match(method: HttpMethod, path: string): { route: CompiledRoute; params: Record<string, string> } {
    let pathKnown = false;
    for (const c of this.compiled) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => {
        params[name] = decodeParam(m[i + 1] ?? '', name);
      });
      return { route: c, params };
    }
    if (pathKnown) throw problem('METHOD_NOT_ALLOWED', `${method} is not allowed on ${API_PREFIX}${path}`);
    throw problem('NOT_FOUND', `no endpoint ${API_PREFIX}${path}; the list is at ${API_PREFIX}/openapi.json`);
  }

  private authorize(route: Route, method: HttpMethod, principal: Principal | null, req: IncomingMessage): void {
    if (route.access === 'public') return;
    if (principal === null) throw problem('UNAUTHENTICATED', 'sign in (POST /api/v1/session) or send Authorization: Bearer <token>');
    if (!this.options.authenticator.allows(principal.role, route.access)) {
      throw problem('FORBIDDEN', `this needs the ${route.access} role; ${principal.name} is ${principal.role}`);
    }
    if (WRITE_METHODS.has(method) && principal.kind === 'session') {
      const header = req.headers['x-csrf-token'];
      if (!this.options.authenticator.csrfOk(principal, Array.isArray(header) ? header[0] : header)) {
        throw problem('CSRF_TOKEN_MISSING', 'a signed-in write needs the X-CSRF-Token header from GET /api/v1/session');
      }
    }
  }

  private checkedQuery(route: Route, params: URLSearchParams): unknown {
    if (route.query === undefined) return {};
    const raw: Record<string, string> = {};
    for (const [key, value] of params) {
      if (key in raw) throw problem('INVALID_INPUT', `query parameter ${key} is given more than once`);
      raw[key] = value;
    }
    const checked = validateAgainstSchema<unknown>(route.query, raw, { coerce: true });
    if (!checked.ok) throw problem('INVALID_INPUT', `query: ${checked.errors.join('; ')}`, { errors: checked.errors });
    return checked.value;
  }

  private async checkedBody(route: Route, req: IncomingMessage): Promise<unknown> {
    if (route.body === undefined) return undefined;
    const type = req.headers['content-type'] ?? '';
    if (!JSON_TYPE.test(type)) throw problem('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got ${type === '' ? 'no content type' : JSON.stringify(type.slice(0, 100))})`);
    const bytes = await readBody(req, route.bodyLimit ?? DEFAULT_BODY_LIMIT);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw problem('MALFORMED_REQUEST', `the body is not valid JSON: ${(err as Error).message}`);
    }
    const checked = validateAgainstSchema<unknown>(route.body, parsed);
    if (!checked.ok) throw problem('INVALID_INPUT', checked.errors.join('; '), { errors: checked.errors });
    return checked.value;
  }

  private writeReply(route: Route, res: ServerResponse, reply: { status?: number; body?: unknown; headers?: Readonly<Record<string, string>> }): void {
    const status = reply.status ?? 200;
    if (this.options.checkResponses === true) {
      const spec = route.responses[status];
      if (spec === undefined) throw new ApiProblem('INTERNAL', `${route.operationId} answered ${status}, which its document does not list`);
      if (spec.schema !== undefined) {
        const checked = validateAgainstSchema<unknown>(spec.schema, reply.body);
        if (!checked.ok) throw new ApiProblem('INTERNAL', `${route.operationId} ${status} differs from its schema: ${checked.errors.join('; ')}`);
      }
    }
    const headers: Record<string, string | number> = { 'cache-control': 'no-store', ...reply.headers };
    if (reply.body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
