import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Principal, Role } from '../accounts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route: anyone, or a signed-in person or token holding at least this role. */
export type Access = 'public' | Role;

export interface ResponseSpec {
  readonly description: string;
  /** The JSON body's schema; absent for an empty body or a non-JSON one named by contentType. */
  readonly schema?: TSchema;
  /** A body that is not JSON (CSV, an APK, an event stream). */
  readonly contentType?: string;
}

/** One call as a route handler sees it: checked inputs, the caller, and the raw exchange for streaming answers. */
export interface ApiCall<B, Q> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Q;
  readonly body: B;
  /** Null only on public routes. */
  readonly principal: Principal | null;
  /** The caller's address (the socket's, or the first X-Forwarded-For hop when the proxy is trusted). */
  readonly ip: string;
  /** Names what the write changed, for the audit record (e.g. the new task's id). */
  readonly note: (subject: string) => void;
}

/** A JSON answer; a handler that wrote the response itself (a stream, a file) returns nothing. */
export interface Reply {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What every route states about itself, whatever its input types. */
interface RouteBase {
  readonly method: HttpMethod;
  /** OpenAPI-style template under /api/v1, e.g. `/tasks/{id}/cancel`. */
  readonly path: string;
  readonly access: Access;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** Largest body accepted, in bytes (1 MiB unless set). */
  readonly bodyLimit?: number;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Writes are audited; a route that changes nothing a person would look for (a preview, a check) may opt out. */
  readonly audit?: boolean;
}

export interface RouteSpec<BS extends TSchema | undefined, QS extends TObject | undefined> extends RouteBase {
  readonly body?: BS;
  readonly query?: QS;
  handle(call: ApiCall<BS extends TSchema ? Static<BS> : undefined, QS extends TObject ? Static<QS> : Record<string, never>>): Promise<Reply | void>;
}

/** A route with its input types erased, as the router and the OpenAPI builder hold them. */
export interface Route extends RouteBase {
  readonly body?: TSchema;
  readonly query?: TObject;
  handle(call: ApiCall<unknown, unknown>): Promise<Reply | void>;
}

export function defineRoute<BS extends TSchema | undefined = undefined, QS extends TObject | undefined = undefined>(spec: RouteSpec<BS, QS>): Route {
  // The handler's inputs are checked against `body` and `query` before it runs, so the erased type is sound.
  return spec;
}

export const WRITE_METHODS: ReadonlySet<HttpMethod> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
