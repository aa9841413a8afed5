// The HTTP API as the console uses it: JSON under /api/v1 with the session cookie, and the CSRF token on every write.

export const API = '/api/v1';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  name: string;
  role: Role;
}

export interface LineProblem {
  line?: number;
  index?: number;
  message: string;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

export interface FormatFit {
  format: string;
  usable: boolean;
  extras: boolean;
  reason?: string;
}

export interface Master {
  id: string;
  url: string;
  origin: string;
  size: number;
  uploadedBy: string;
  createdAt: string;
  filename?: string;
  package: string;
  versionName: string | null;
  versionCode: number;
  label: string | null;
  /** The launcher icon's ZIP entry, served by GET /masters/{id}/icon; null or absent when there is none. */
  icon?: { entry: string; bytes: number } | null;
  minSdk: number | null;
  targetSdk: number | null;
  schemes: string[];
  signingBlock: { offset: number; size: number; pairs: { id: string; name: string; bytes: number }[] } | null;
  channels: { channel: string; format: string; extras: Record<string, string> }[];
  formats: FormatFit[];
  problems: ErrorInfo[];
}

export interface ChannelListSummary {
  id: string;
  name: string;
  count: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ChannelList {
  id: string;
  name: string;
  channels: { id: string; extras?: Record<string, string> }[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface Destination {
  name: string;
  url: string;
  kind: string;
  /** Configured ones come from the API's environment and cannot be removed from the console. */
  source?: 'configured' | 'added';
}

export interface ParkedMessage {
  id: string;
  reason: string;
  attempt: number;
  originQueue: string | null;
  routingKey: string | null;
  parkedAt: string | null;
  /** The message (JSON), secrets replaced by ***. */
  body: string;
}

export interface ReplayOutcome {
  replayed: string[];
  skipped: { id: string; reason: string }[];
  missing: string[];
}

export interface SystemOverview {
  broker: { state: string; node: string | null };
  redis: { state: string };
  queues: { queue: string; messages: number | null; consumers: number | null; error?: string }[];
  services: { service: string; queue: string; consumers: number | null; ready: boolean }[];
  stalledTasks: { taskId: string; stalledAt: string }[];
  /** Channels stored per minute over the last hour, oldest first. */
  throughput: { minute: string; stored: number }[];
}

export interface User {
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  lastLoginAt: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface CreatedToken extends ApiToken {
  /** The secret, shown only once. */
  token: string;
}

export interface AuditRecord {
  seq: number;
  actor: string;
  role: string | null;
  action: string;
  method: string;
  path: string;
  status: number;
  subject?: string;
  ip: string;
  at: string;
}

/** A webhook that hears about a task (libs/contracts NotifySubscriptionSchema, without secrets). */
export const NOTIFY_FORMATS = ['json', 'dingtalk', 'wecom', 'feishu'] as const;
export const NOTIFY_LEVELS = ['info', 'warn', 'error'] as const;
export const MAX_SUBSCRIPTIONS = 16;
export interface NotifySubscription {
  url: string;
  format: (typeof NOTIFY_FORMATS)[number];
  level: (typeof NOTIFY_LEVELS)[number];
}

export const TASK_STATES = ['pending', 'running', 'done', 'partial', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskSummary {
  taskId: string;
  status: TaskState;
  total: number;
  done: number;
  kept: number;
  failed: number;
  package?: string;
  versionName?: string;
  createdAt: string;
  finishedAt?: string;
  creator?: string;
  destination?: string;
  progress: number;
  error?: ErrorInfo;
}

export interface TaskDetail extends TaskSummary {
  channelsPerSecond: number;
  etaSeconds: number | null;
  failureReasons: { code: string; message: string; channels: number; example: string }[];
}

export interface ChannelResult {
  channel: string;
  status: 'stored' | 'failed';
  bytes?: number;
  md5?: string;
  reason?: ErrorInfo;
  at: string;
}

export interface Preview {
  channels: number;
  target: string;
  names: { channel: string; name: string }[];
  warnings: string[];
  estimatedBytes: number;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

/** An answer other than 2xx: the problem's code and detail, and per-line errors when the server gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    /** Per-line problems, or (for a refused task) one sentence per problem. */
    readonly errors: (LineProblem | string)[] = [],
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function csrfHeaders(): Record<string, string> {
  return csrfToken === null ? {} : { 'x-csrf-token': csrfToken };
}

/** Called when an answer says the session is gone (401), so the app can show the sign-in page. */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') Object.assign(headers, csrfHeaders());
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'NETWORK', '');
  }
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : safeJson(text);
  if (!res.ok) {
    const p = (parsed ?? {}) as { code?: unknown; detail?: unknown; errors?: unknown };
    const error = new ApiError(res.status, typeof p.code === 'string' ? p.code : `HTTP_${res.status}`, typeof p.detail === 'string' ? p.detail : res.statusText, Array.isArray(p.errors) ? (p.errors as (LineProblem | string)[]) : []);
    if (res.status === 401 && path !== '/session') onSignedOut();
    throw error;
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const canWrite = (role: Role): boolean => role === 'operator' || role === 'admin';
export const isAdmin = (role: Role): boolean => role === 'admin';
