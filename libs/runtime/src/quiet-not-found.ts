import type { ServerResponse } from 'node:http';
import { Catch, Module, NotFoundException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';

/** The body of a request for a route that does not exist. */
export const ROUTE_NOT_FOUND = { statusCode: 404, message: 'not found', error: 'Not Found' } as const;

/**
 * Whether a 404's message is Nest's answer to a route it does not have ("Cannot GET /the/path"). Nest throws the same
 * NotFoundException class for that as for any handler's 404, with no code, so its text is the only mark; this is the
 * one place that reads it, and quiet-not-found.test.ts asks a real Nest application for an unknown route.
 */
export function isUnknownRouteMessage(message: unknown): boolean {
  return typeof message === 'string' && /^Cannot [A-Z]+ /.test(message);
}

/**
 * Nest answers an unknown route with "Cannot GET <the request's path>": the request echoed back, which an attacker
 * can use to put their own text on a trusted origin. That answer becomes a fixed one; every other 404 keeps its body.
 */
@Catch(NotFoundException)
export class QuietNotFoundFilter implements ExceptionFilter {
  catch(exception: NotFoundException, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const answer = exception.getResponse();
    const message = typeof answer === 'object' && answer !== null ? (answer as { message?: unknown }).message : answer;
    const body = isUnknownRouteMessage(message) ? ROUTE_NOT_FOUND : answer;
    if (res.headersSent) return;
    res.statusCode = 404;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  }
}

/** Import into an HTTP-facing module so unknown routes never echo the request. */
@Module({ providers: [{ provide: APP_FILTER, useClass: QuietNotFoundFilter }] })
export class QuietNotFoundModule {}
