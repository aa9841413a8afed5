import { randomBytes } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import { validatePackTask, type Channel, type PackTask } from '@subpack/contracts';
import { manifestNameValues } from '@subpack/pack';
import { DEFAULT_NAMING, fileNameProblem, renderFileName } from '@subpack/rules';
import { FINISHED_STATUSES, type TaskStore, type TaskSummary } from '@subpack/state';
import type { ChannelLists } from './channel-lists';
import type { Destinations } from './destinations';
import { problem } from './http/problem';
import { decodeCursor, encodeCursor } from './ids';
import { newestFirst } from './newest-first';
import { redacted } from './redact';
import type { ChannelResultSchema, TaskCreateSchema, TaskDetailSchema, TaskPreviewSchema, TaskSummarySchema } from './schemas';

export type TaskCreate = Static<typeof TaskCreateSchema>;
export type TaskView = Static<typeof TaskSummarySchema>;
export type TaskDetail = Static<typeof TaskDetailSchema>;
export type TaskPreview = Static<typeof TaskPreviewSchema>;
export type ChannelResult = Static<typeof ChannelResultSchema>;

/** What a task needs of a master the API knows (see masters): where it is and its manifest facts. */
export interface MasterFacts {
  url: string;
  size: number;
  package: string;
  versionName?: string | null | undefined;
  versionCode: number;
  label?: string | null | undefined;
}

export interface MasterLookup {
  /** The master's facts, or a NOT_FOUND problem. */
  facts(id: string): Promise<MasterFacts>;
}

/** What the API adds to a task it created: who, from which master, list and destination. */
interface TaskMeta {
  taskId: string;
  creator: string;
  masterId: string;
  destination: string;
  channelList?: string;
  total: number;
  master: string;
  target: string;
  package: string;
  versionName?: string;
  versionCode: number;
  format?: string;
  naming: string;
  createdAt: string;
}

export interface TaskFilters {
  state?: string | undefined;
  app?: string | undefined;
  creator?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface TaskServiceDeps {
  redis: Redis;
  prefix: string;
  store: TaskStore;
  masters: MasterLookup;
  lists: ChannelLists;
  destinations: Destinations;
  maxChannels: number;
  /** Sends the task to the packers (exchange, routing key and message id as `subpack submit` sends it). */
  send(task: PackTask): Promise<void>;
}

/** A search scans the channel hash this many at a time: a rare match would otherwise take many small steps. */
const SEARCH_SCAN_COUNT = 1000;
/** How many first names a preview renders. */
const PREVIEW_NAMES = 20;
/** Most index entries one list call looks at while filtering, so a rare filter cannot make one request scan everything. */
const MAX_SCANNED = 5000;
/**
 * What the API knows of a task it sent outlives the pipeline's record (which expires SUBPACK_TASK_TTL_SECONDS after
 * the task finished) only as long as this: the list drops a task whose record is gone.
 */
const META_TTL_SECONDS = 30 * 24 * 3600;
/** A task no packer accepted within this long was lost on the way (its task.pack parked or dropped). */
const UNACCEPTED_FOR_MS = 3600_000;

function generatedTaskId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
  return `t-${stamp}-${randomBytes(3).toString('hex')}`;
}

function joinPrefix(prefix: string, name: string): string {
  return `${prefix.replace(/\/+$/, '')}/${name}/`;
}

/** Tasks as the API shows them: the pipeline's record in Redis, with what the API knows of their origin. */
export class TaskService {
  constructor(private readonly deps: TaskServiceDeps) {}

  private metaKey(taskId: string): string {
    return `${this.deps.prefix}api:task:${taskId}`;
  }

  private indexKey(): string {
    return `${this.deps.prefix}api:tasks`;
  }

  /** The pack task a create request stands for, checked by the same rules as `subpack submit`, and its master. */
  private async assemble(body: TaskCreate, now: Date): Promise<{ task: PackTask; master: MasterFacts; destination: string }> {
    if ((body.channelList === undefined) === (body.channels === undefined)) throw problem('INVALID_INPUT', 'give either channelList (a list id) or channels (inline), not both or neither');
    const [master, destination] = await Promise.all([this.deps.masters.facts(body.master), this.deps.destinations.get(body.destination)]);
    const channels: Channel[] = body.channels ?? (await this.deps.lists.get(body.channelList!)).channels;
    const taskId = body.taskId ?? generatedTaskId(now);
    const task: PackTask = {
      taskId,
      master: master.url,
      channels,
      ...(body.format !== undefined ? { format: body.format } : {}),
      ...(body.naming !== undefined ? { naming: body.naming } : {}),
      target: joinPrefix(destination.url, taskId),
      ...(body.upload !== undefined ? { upload: body.upload } : {}),
      ...(body.extras !== undefined ? { extras: body.extras } : {}),
      ...(body.notify !== undefined ? { notify: body.notify } : {}),
      submittedAt: now.toISOString(),
    };
    const checked = validatePackTask(task, { maxChannels: this.deps.maxChannels });
    if (!checked.ok) throw problem('INVALID_INPUT', checked.errors.join('; '), { errors: checked.errors });
    return { task: checked.value, master, destination: destination.name };
  }

  async preview(body: TaskCreate): Promise<TaskPreview> {
    const { task, master } = await this.assemble(body, new Date());
    const naming = task.naming ?? DEFAULT_NAMING;
    const warnings: string[] = [];
    const names = task.channels.slice(0, PREVIEW_NAMES).map((c) => ({ channel: c.id, name: renderFileName(naming, manifestNameValues(master, c.id)) }));
    for (const c of task.channels) {
      const name = renderFileName(naming, manifestNameValues(master, c.id));
      const p = fileNameProblem(name);
      if (p !== null) warnings.push(`channel ${JSON.stringify(c.id)}: file name ${p}`);
      if (warnings.length >= 20) break;
    }
    // The task as it would be sent, without its notify secrets and webhook tokens: a preview is shown, not sent.
    return { channels: task.channels.length, target: task.target, names, warnings, estimatedBytes: master.size * task.channels.length, task: redacted(task) };
  }

  async create(body: TaskCreate, creator: string): Promise<TaskView> {
    const now = new Date();
    const { task, master, destination } = await this.assemble(body, now);
    const meta: TaskMeta = {
      taskId: task.taskId,
      creator,
      masterId: body.master,
      destination,
      ...(body.channelList !== undefined ? { channelList: body.channelList } : {}),
      total: task.channels.length,
      master: task.master,
      target: task.target,
      package: master.package,
      ...(master.versionName ? { versionName: master.versionName } : {}),
      versionCode: master.versionCode,
      ...(task.format !== undefined ? { format: task.format } : {}),
      naming: task.naming ?? DEFAULT_NAMING,
      createdAt: now.toISOString(),
    };
    // SET NX: two requests naming the same taskId cannot both send it.
    const fresh = await this.deps.redis.set(this.metaKey(task.taskId), JSON.stringify(meta), 'EX', META_TTL_SECONDS, 'NX');
    if (fresh === null || (await this.deps.store.getTaskSummary(task.taskId)) !== null) {
      if (fresh !== null) await this.deps.redis.del(this.metaKey(task.taskId));
      throw problem('ALREADY_EXISTS', `a task ${JSON.stringify(task.taskId)} exists; leave taskId out to get a fresh one`);
    }
    try {
      await this.deps.send(task);
    } catch (err) {
      await this.deps.redis.del(this.metaKey(task.taskId));
      throw problem('UNAVAILABLE', `the task could not be sent to RabbitMQ: ${(err as Error).message}; nothing was started, send it again`);
    }
    await this.deps.redis.multi().zadd(this.indexKey(), now.getTime(), task.taskId).sadd(this.pendingKey(), task.taskId).exec();
    return this.view(meta, null);
  }

  private async meta(taskId: string): Promise<TaskMeta | null> {
    const raw = await this.deps.redis.get(this.metaKey(taskId));
    return raw === null ? null : (JSON.parse(raw) as TaskMeta);
  }

  private view(meta: TaskMeta | null, s: TaskSummary | null): TaskView {
    if (s === null) {
      if (meta === null) throw problem('NOT_FOUND', 'no such task');
      return {
        taskId: meta.taskId,
        status: 'pending',
        total: meta.total,
        done: 0,
        kept: 0,
        failed: 0,
        attempt: 1,
        master: meta.master,
        target: meta.target,
        package: meta.package,
        ...(meta.versionName !== undefined ? { versionName: meta.versionName } : {}),
        versionCode: meta.versionCode,
        ...(meta.format !== undefined ? { format: meta.format } : {}),
        naming: meta.naming,
        createdAt: meta.createdAt,
        updatedAt: meta.createdAt,
        creator: meta.creator,
        destination: meta.destination,
        masterId: meta.masterId,
        progress: 0,
      };
    }
    return {
      taskId: s.taskId,
      status: s.status,
      total: s.total,
      done: s.done,
      kept: s.kept,
      failed: s.failed,
      attempt: s.attempt,
      master: s.master,
      target: s.target,
      ...(s.package !== undefined ? { package: s.package } : {}),
      ...(s.versionName !== undefined ? { versionName: s.versionName } : {}),
      ...(s.versionCode !== undefined ? { versionCode: s.versionCode } : {}),
      ...(s.format !== undefined ? { format: s.format } : {}),
      ...(s.naming !== undefined ? { naming: s.naming } : {}),
      createdAt: meta?.createdAt ?? s.createdAt,
      updatedAt: s.updatedAt,
      ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
      ...(s.stalledAt !== undefined ? { stalledAt: s.stalledAt } : {}),
      ...(s.error !== undefined ? { error: s.error } : {}),
      ...(meta ? { creator: meta.creator, destination: meta.destination, masterId: meta.masterId } : {}),
      progress: s.total > 0 ? (s.done + s.failed) / s.total : 0,
    };
  }

  async summary(taskId: string): Promise<TaskView> {
    const [meta, s] = await Promise.all([this.meta(taskId), this.deps.store.getTaskSummary(taskId)]);
    if (meta === null && s === null) throw problem('NOT_FOUND', `no task ${JSON.stringify(taskId)} (never created, or expired after finishing)`);
    return this.view(meta, s);
  }

  async detail(taskId: string): Promise<TaskDetail> {
    const view = await this.summary(taskId);
    const start = Date.parse(view.createdAt);
    const end = view.finishedAt !== undefined ? Date.parse(view.finishedAt) : Date.now();
    const finished = view.done + view.failed;
    const seconds = Math.max(0.001, (end - start) / 1000);
    const channelsPerSecond = finished / seconds;
    const left = view.total - finished;
    const etaSeconds = FINISHED_STATUSES.has(view.status) ? null : channelsPerSecond > 0 ? left / channelsPerSecond : null;
    return { ...view, channelsPerSecond, etaSeconds, failureReasons: view.failed > 0 ? await this.failureReasons(taskId) : [] };
  }

  private async failureReasons(taskId: string): Promise<TaskDetail['failureReasons']> {
    const groups = new Map<string, TaskDetail['failureReasons'][number]>();
    for await (const r of this.results(taskId)) {
      if (r.status !== 'failed' || !r.reason) continue;
      const key = `${r.reason.code}\n${r.reason.message}`;
      const g = groups.get(key);
      if (g) g.channels++;
      else groups.set(key, { code: r.reason.code, message: r.reason.message, channels: 1, example: r.channel });
    }
    return [...groups.values()].sort((a, b) => b.channels - a.channels).slice(0, 50);
  }

  /** Every channel result of a task, page by page from Redis (never the whole hash at once). */
  async *results(taskId: string): AsyncGenerator<ChannelResult> {
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listChannels(taskId, { ...(cursor !== undefined ? { cursor } : {}), count: 1000 });
      for (const c of page.channels) yield toResult(c);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async channels(taskId: string, page: { cursor?: string | undefined; limit: number; status?: 'stored' | 'failed' | undefined; q?: string | undefined }): Promise<{ items: ChannelResult[]; nextCursor: string | null }> {
    await this.summary(taskId);
    const items: ChannelResult[] = [];
    let cursor = page.cursor;
    // HSCAN pages are approximate; keep reading until the page is full or the scan ends.
    for (;;) {
      const got = await this.deps.store.listChannels(taskId, { ...(cursor !== undefined ? { cursor } : {}), count: page.q ? Math.max(page.limit, SEARCH_SCAN_COUNT) : page.limit, ...(page.q !== undefined ? { containing: page.q } : {}) });
      for (const c of got.channels) if (page.status === undefined || c.status === page.status) items.push(toResult(c));
      cursor = got.nextCursor ?? undefined;
      if (cursor === undefined || items.length >= page.limit) break;
    }
    return { items, nextCursor: cursor ?? null };
  }

  /**
   * Every task the pipeline knows (also those sent with `subpack submit`), newest first, from the task store's index;
   * the first page also shows tasks this API sent that no packer has accepted yet. Filters apply to what is read, so a
   * page may hold fewer than `limit` tasks while `nextCursor` is not null.
   */
  async list(f: TaskFilters): Promise<{ items: TaskView[]; nextCursor: string | null }> {
    const from = f.from !== undefined ? Date.parse(f.from) : undefined;
    const to = f.to !== undefined ? Date.parse(f.to) : undefined;
    if ((from !== undefined && Number.isNaN(from)) || (to !== undefined && Number.isNaN(to))) throw problem('INVALID_INPUT', 'from/to: must be ISO 8601 times');
    let before: number | undefined;
    if (f.cursor !== undefined) {
      before = decodeCursor(f.cursor)?.score;
      if (before === undefined) throw problem('INVALID_INPUT', 'cursor: not a cursor this API gave out');
    } else if (to !== undefined) {
      before = to;
    }
    const items: TaskView[] = [];
    if (f.cursor === undefined) items.push(...this.matching(await this.views(await this.unaccepted()), f, from, to));
    let scanned = 0;
    for (;;) {
      const page = await this.deps.store.listTaskIds({ ...(before !== undefined ? { before } : {}), limit: Math.min(200, f.limit * 2) });
      scanned += page.tasks.length;
      const inWindow = page.tasks.filter((t) => from === undefined || t.score >= from);
      const views = await this.views(inWindow.map((t) => t.taskId));
      const scoreOf = new Map(inWindow.map((t) => [t.taskId, t.score]));
      const kept = this.matching(views, f, undefined, undefined);
      for (const [i, v] of kept.entries()) {
        items.push(v);
        if (items.length < f.limit) continue;
        // The next page starts strictly below this score, so tasks sharing it come on this page, whole.
        const score = scoreOf.get(v.taskId) ?? 0;
        items.push(...kept.slice(i + 1).filter((w) => scoreOf.get(w.taskId) === score));
        return { items, nextCursor: encodeCursor(score, '') };
      }
      const oldest = page.tasks[page.tasks.length - 1];
      const pastFrom = from !== undefined && oldest !== undefined && oldest.score < from;
      if (page.nextBefore === null || pastFrom) return { items, nextCursor: null };
      before = page.nextBefore;
      if (scanned >= MAX_SCANNED) return { items, nextCursor: encodeCursor(before, '') };
    }
  }

  private matching(views: readonly TaskView[], f: TaskFilters, from: number | undefined, to: number | undefined): TaskView[] {
    return views.filter((v) => {
      if (f.state !== undefined && v.status !== f.state) return false;
      if (f.app !== undefined && v.package !== f.app) return false;
      if (f.creator !== undefined && v.creator !== f.creator) return false;
      const at = Date.parse(v.createdAt);
      return (from === undefined || at >= from) && (to === undefined || at < to);
    });
  }

  private pendingKey(): string {
    return `${this.deps.prefix}api:unaccepted`;
  }

  /**
   * Tasks this API sent that no packer has accepted yet (no record in the task store): usually none or a few, so
   * the list does not scan anything to find them. Accepted ones leave the set here; one never accepted leaves it
   * with its meta's expiry.
   */
  private async unaccepted(): Promise<string[]> {
    const ids = await this.deps.redis.smembers(this.pendingKey());
    if (ids.length === 0) return [];
    const [summaries, metas] = await Promise.all([this.deps.store.getTaskSummaries(ids), this.deps.redis.mget(ids.map((id) => this.metaKey(id)))]);
    const waiting = ids.map((_, i) => {
      const raw = metas[i];
      return summaries[i] === null && raw !== null && raw !== undefined && Date.parse((JSON.parse(raw) as TaskMeta).createdAt) >= Date.now() - UNACCEPTED_FOR_MS;
    });
    const settled = ids.filter((_, i) => !waiting[i]);
    if (settled.length > 0) await this.deps.redis.srem(this.pendingKey(), ...settled);
    return ids.filter((_, i) => waiting[i]);
  }

  /** Views of several tasks in two round trips; ids whose records are gone (expired) are dropped from the index. */
  private async views(ids: readonly string[]): Promise<TaskView[]> {
    if (ids.length === 0) return [];
    const [metas, summaries] = await Promise.all([this.deps.redis.mget(ids.map((id) => this.metaKey(id))), this.deps.store.getTaskSummaries(ids)]);
    const out: TaskView[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const raw = metas[i];
      const meta = raw ? (JSON.parse(raw) as TaskMeta) : null;
      const s = summaries[i] ?? null;
      if (s === null && (meta === null || Date.parse(meta.createdAt) < Date.now() - UNACCEPTED_FOR_MS)) gone.push(id);
      else out.push(this.view(meta, s));
    });
    if (gone.length > 0) await this.deps.redis.zrem(this.indexKey(), ...gone);
    return out;
  }

  /** Removes the API's record of a task (its meta expires with the pipeline's record otherwise). */
  async forget(taskId: string): Promise<void> {
    await this.deps.redis.multi().del(this.metaKey(taskId)).zrem(this.indexKey(), taskId).exec();
  }

  /** Whether any unfinished task reads this master URL (a master in use must not be deleted). */
  async masterInUse(url: string): Promise<boolean> {
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await newestFirst(this.deps.redis, this.indexKey(), { cursor, limit: 200 });
      for (const v of await this.views(page.members.map((m) => m.member))) if (v.master === url && !FINISHED_STATUSES.has(v.status)) return true;
      scanned += page.members.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && scanned < 100_000);
    return false;
  }
}


function toResult(c: { channel: string; status: 'stored' | 'failed'; url?: string; bytes?: number; md5?: string; sha256?: string; kept?: boolean; error?: { code: string; message: string }; attempts?: number; at: string }): ChannelResult {
  return {
    channel: c.channel,
    status: c.status,
    ...(c.url !== undefined ? { url: c.url } : {}),
    ...(c.bytes !== undefined ? { bytes: c.bytes } : {}),
    ...(c.md5 !== undefined ? { md5: c.md5 } : {}),
    ...(c.sha256 !== undefined ? { sha256: c.sha256 } : {}),
    ...(c.kept !== undefined ? { kept: c.kept } : {}),
    ...(c.error !== undefined ? { reason: c.error } : {}),
    ...(c.attempts !== undefined ? { attempts: c.attempts } : {}),
    at: c.at,
  };
}
