import assert from 'node:assert/strict';
import type { ServiceProcess } from './service-process';

/** A caller of the HTTP API: a session cookie with its CSRF token, a bearer token, or nobody. */
export interface ApiCaller {
  headers: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** An RFC 9457 problem document as the API writes it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: unknown[];
}

/** A small client of a running API service: JSON in, the raw answer out (the test decides what it must be). */
export class ApiClient {
  constructor(readonly api: ServiceProcess) {}

  get base(): string {
    return `http://127.0.0.1:${this.api.port}/api/v1`;
  }

  async request(caller: ApiCaller | null, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(caller?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** The JSON answer of a call that must answer `expect`. */
  async json<T>(caller: ApiCaller | null, method: string, path: string, body?: unknown, expect = 200): Promise<T> {
    const answer = await this.request(caller, method, path, body);
    assert.equal(answer.status, expect, `${method} ${path}: ${answer.text.slice(0, 2000)}`);
    return JSON.parse(answer.text) as T;
  }

  /** Signs in; the cookie and the CSRF token a signed-in write must send. */
  async signIn(name: string, password: string): Promise<ApiCaller & { cookie: string; csrfToken: string }> {
    const res = await fetch(`${this.base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = JSON.parse(text) as { csrfToken: string };
    return { cookie, csrfToken, headers: { cookie, 'x-csrf-token': csrfToken } };
  }
}

/** The answer parsed as a problem document, after checking it is one (media type and members). */
export function asProblemDocument(answer: ApiAnswer): Problem {
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/, `not a problem document (${answer.status}): ${answer.text.slice(0, 500)}`);
  const body = JSON.parse(answer.text) as Problem;
  assert.equal(body.status, answer.status, answer.text.slice(0, 500));
  assert.equal(typeof body.code, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.match(body.type, /^https:\/\//);
  return body;
}
