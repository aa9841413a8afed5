import type { ServerResponse } from 'node:http';
import { isBadInput, isProblemCode, PROBLEMS, type ProblemCode } from '@subpack/rules';

/** Where a problem's `type` points: one page per code in the README's API section. */
const PROBLEM_TYPE_BASE = 'https://subpack.dev/problems/';

/** An answer the caller can act on, written as RFC 9457 problem details with a `code` from the shared list. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  readonly status: number;

  constructor(
    readonly code: string,
    detail: string,
    readonly extra: { readonly errors?: readonly unknown[]; readonly retryAfterSeconds?: number; readonly status?: number } = {},
  ) {
    super(detail);
    this.status = extra.status ?? (isProblemCode(code) ? PROBLEMS[code] : PROBLEMS.INVALID_INPUT);
  }
}

export function problem(code: ProblemCode, detail: string, extra?: ApiProblem['extra']): ApiProblem {
  return new ApiProblem(code, detail, extra);
}

/**
 * What the caller is told about an error: a problem as it is; bad input (a rule broken, an APK refused) with its own
 * code when it has one; anything else as INTERNAL without its message, which may name hosts or paths (it is logged).
 */
export function asProblem(err: unknown): ApiProblem {
  if (err instanceof ApiProblem) return err;
  if (isBadInput(err)) {
    const code = (err as { code?: unknown }).code;
    const known = typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'INVALID_INPUT';
    const retry = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    return new ApiProblem(known, err.message, {
      ...(isProblemCode(known) ? {} : { status: PROBLEMS.INVALID_INPUT }),
      ...(typeof retry === 'number' ? { retryAfterSeconds: retry } : {}),
    });
  }
  return new ApiProblem('INTERNAL', 'the server could not complete the request; the error is in its log');
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: readonly unknown[];
}

export function problemBody(p: ApiProblem, instance?: string): ProblemBody {
  return {
    type: `${PROBLEM_TYPE_BASE}${p.code.toLowerCase().replace(/_/g, '-')}`,
    title: p.code.toLowerCase().replace(/_/g, ' '),
    status: p.status,
    detail: p.message,
    code: p.code,
    ...(instance !== undefined ? { instance } : {}),
    ...(p.extra.errors !== undefined ? { errors: p.extra.errors } : {}),
  };
}

export function writeProblem(res: ServerResponse, p: ApiProblem, instance?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(p, instance));
  const headers: Record<string, string | number> = { 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
  if (p.extra.retryAfterSeconds !== undefined) headers['retry-after'] = Math.max(1, Math.ceil(p.extra.retryAfterSeconds));
  res.writeHead(p.status, headers);
  res.end(body);
}
