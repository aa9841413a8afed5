// npm run bench:api: the HTTP API (services/api) on real RabbitMQ and Redis, with a packer, an uploader and the
// retry-scheduler doing real work behind it, in one run:
//  1. latency of GET /api/v1/tasks and GET /api/v1/tasks/{id} (a 10,000-channel task) under 50 concurrent keep-alive
//     clients with a bearer token, while the task runs and after it finished, against GET /health/live of the same
//     process under the same load;
//  2. the API's CPU with one Server-Sent Events client on each of 20 unfinished 1,000-channel tasks, against the same 20
//     tasks without clients, and the events each client receives per second;
//  3. a 300 MB signed master uploaded through tus against `cp` of the same file to the same disk.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, statfs } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Upload } from 'tus-js-client';
import { Redis } from 'ioredis';
import { channelIds, delay, E2eStack, type QueueSpy, type ServiceProcess } from '@subpack/e2e';
import { standardApk } from '@subpack/testing';
import { ROOT, benchMaster, fmt, median, timed } from './measure';
import { NEEDS, REDIS_URL, preflight } from './preflight';

const CLIENTS = Number(process.env.SUBPACK_BENCH_CLIENTS ?? 50);
/** Requests per endpoint per round, shared by the CLIENTS clients. */
const REQUESTS = Number(process.env.SUBPACK_BENCH_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.SUBPACK_BENCH_ROUNDS ?? 3);
const BIG_TASK_CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 10_000);
/** Small finished tasks created first, so that the list answers a full page (50, the default limit). */
const LIST_TASKS = 49;
const SSE_TASKS = 20;
const SSE_TASK_CHANNELS = 1000;
const SSE_SECONDS = Number(process.env.SUBPACK_BENCH_SSE_SECONDS ?? 20);
const MEGABYTES = Number(process.env.SUBPACK_BENCH_MB ?? 300);
const UPLOAD_ROUNDS = Number(process.env.SUBPACK_BENCH_UPLOAD_ROUNDS ?? 3);
const CHUNK_BYTES = 16 * 1024 * 1024;
const TIMEOUT_MS = Number(process.env.SUBPACK_BENCH_TIMEOUT_S ?? 300) * 1000;
/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;
const GOAL_P99_MS = 50;
const GOAL_SSE_CPU = 0.25;
const GOAL_UPLOAD_RATIO = 0.8;
const ADMIN = { name: 'bench-admin', password: 'bench-admin-password-0123' };
const FINISHED = new Set(['done', 'partial', 'failed', 'cancelled']);
/** statfs(2) f_type of the in-memory filesystems. */
const MEMORY_FS_TYPES = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

interface TaskView {
  taskId: string;
  status: string;
  done: number;
  failed: number;
  total: number;
  finishedAt?: string;
}

interface MasterRecord {
  id: string;
  size: number;
}

/** The API of one process: JSON calls with a session (cookie + CSRF token) for writes, a viewer token for reads. */
class ApiClient {
  session: Record<string, string> = {};
  bearer: Record<string, string> = {};

  constructor(readonly port: number) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}/api/v1`;
  }

  async call<T>(method: string, path: string, body?: unknown, expect = 200, headers: Record<string, string> = this.session): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`${method} ${path} answered ${res.status}, not ${expect}: ${text.slice(0, 500)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async signIn(name: string, password: string): Promise<void> {
    const res = await fetch(`${this.base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
    if (res.status !== 200) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
    const cookie = res.headers.get('set-cookie')?.split(';')[0];
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    if (cookie === undefined) throw new Error('sign-in set no cookie');
    this.session = { cookie, 'x-csrf-token': csrfToken };
    const { token } = await this.call<{ token: string }>('POST', '/tokens', { name: 'bench-viewer', role: 'viewer' }, 201);
    this.bearer = { authorization: `Bearer ${token}` };
  }

  task(taskId: string): Promise<TaskView> {
    return this.call<TaskView>('GET', `/tasks/${encodeURIComponent(taskId)}`, undefined, 200, this.bearer);
  }

  async createTask(master: string, channels: number, prefix: string): Promise<string> {
    const body = { master, destination: 'bench', channels: channelIds(channels, prefix).map((id) => ({ id })) };
    return (await this.call<{ taskId: string }>('POST', '/tasks', body, 201)).taskId;
  }

  async waitFinished(taskIds: readonly string[], timeoutMs = TIMEOUT_MS): Promise<TaskView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(taskIds.map((id) => this.task(id)));
      if (views.every((v) => FINISHED.has(v.status))) return views;
      if (Date.now() > deadline) throw new Error(`tasks not finished within ${timeoutMs} ms: ${JSON.stringify(views.filter((v) => !FINISHED.has(v.status)).slice(0, 3))}`);
      await delay(500);
    }
  }

  /** A tus upload of a file (read from disk in CHUNK_BYTES slices) with the session; resolves with the inspected master. */
  upload(file: string, filename: string): Promise<MasterRecord> {
    return new Promise((resolve, reject) => {
      // tus-js-client reads an fs.ReadStream that has a path in chunk-sized slices of the file, as a script would.
      const upload = new Upload(createReadStream(file), {
        endpoint: `${this.base}/masters/uploads`,
        chunkSize: CHUNK_BYTES,
        headers: this.session,
        metadata: { filename },
        retryDelays: [],
        storeFingerprintForResuming: false,
        onSuccess: ({ lastResponse }) => {
          const body = lastResponse.getBody();
          if (lastResponse.getStatus() !== 200) reject(new Error(`the last PATCH answered ${lastResponse.getStatus()}: ${body.slice(0, 500)}`));
          else resolve(JSON.parse(body) as MasterRecord);
        },
        onError: reject,
      });
      upload.start();
    });
  }
}

/** user + system CPU seconds a process has used so far (0 once it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) start at its closing parenthesis; utime and stime are the
  // 14th and 15th fields of the whole line.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / CLOCK_TICKS_PER_SECOND;
}

/** Redis's own process id, asked of it (undefined when it is not on this machine's process table). */
async function redisPid(): Promise<number | undefined> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    return Number.isInteger(pid) && (await readFile(`/proc/${pid}/stat`, 'utf8').then(() => true, () => false)) ? pid : undefined;
  } finally {
    redis.disconnect();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))]!;
}

/** One GET on a keep-alive agent; resolves with the milliseconds to the end of the body. */
function timedGet(agent: Agent, port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request({ agent, host: '127.0.0.1', port, path, headers }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path} answered ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - start) / 1e6);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Latency {
  p50: number;
  p99: number;
  perSecond: number;
  /** CPU seconds per 1,000 requests of the API process and of Redis. */
  apiCpuPerK: number;
  redisCpuPerK: number;
}

/** The processes whose CPU a round reports. */
interface Pids {
  api: number;
  redis: number | undefined;
}

/** `total` GETs of `path` by `clients` concurrent clients, each waiting for its answer before sending the next. */
async function loadRound(agent: Agent, port: number, e: Endpoint, total: number, pids: Pids): Promise<Latency> {
  const times: number[] = [];
  let issued = 0;
  const cpu0 = { api: await cpuSeconds(pids.api), redis: pids.redis === undefined ? NaN : await cpuSeconds(pids.redis) };
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (issued < total) {
        issued += 1;
        times.push(await timedGet(agent, port, e.path, e.headers));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const apiCpu = (await cpuSeconds(pids.api)) - cpu0.api;
  const redisCpu = pids.redis === undefined ? NaN : (await cpuSeconds(pids.redis)) - cpu0.redis;
  return { p50: percentile(times, 50), p99: percentile(times, 99), perSecond: total / seconds, apiCpuPerK: (apiCpu * 1000) / total, redisCpuPerK: (redisCpu * 1000) / total };
}

interface Endpoint {
  name: string;
  path: string;
  headers: Record<string, string>;
}

interface PhaseOptions {
  label: string;
  requests: number;
  /** Asked after every round: false drops the round (and ends the phase), e.g. when the task finished during it. */
  stillValid?: () => Promise<boolean>;
}

/**
 * Up to ROUNDS rounds over every endpoint, the order rotating each round; per endpoint the medians of its rounds'
 * figures, and how many rounds counted.
 */
async function latencyPhase(port: number, endpoints: readonly Endpoint[], pids: Pids, opts: PhaseOptions): Promise<Map<string, Latency & { rounds: number }>> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const rounds = new Map<string, Latency[]>(endpoints.map((e) => [e.name, []]));
  try {
    for (const e of endpoints) await loadRound(agent, port, e, 5 * CLIENTS, pids); // warm-up: sockets, JIT
    phase: for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < endpoints.length; i++) {
        const e = endpoints[(i + round) % endpoints.length]!;
        const r = await loadRound(agent, port, e, opts.requests, pids);
        const valid = (await opts.stillValid?.()) ?? true;
        process.stderr.write(
          `  ${opts.label} round ${round + 1} ${e.name}: p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, ${fmt(r.perSecond, 0)} req/s, ` +
            `CPU per 1,000 requests: API ${fmt(r.apiCpuPerK, 2)} s, Redis ${fmt(r.redisCpuPerK, 2)} s${valid ? '' : ' (not counted: the task finished)'}\n`,
        );
        if (!valid) break phase;
        rounds.get(e.name)!.push(r);
      }
    }
  } finally {
    agent.destroy();
  }
  const mid = (rs: Latency[], f: (r: Latency) => number): number => (rs.length === 0 ? NaN : median(rs.map(f)));
  return new Map(
    [...rounds].map(([name, rs]) => [
      name,
      { p50: mid(rs, (r) => r.p50), p99: mid(rs, (r) => r.p99), perSecond: mid(rs, (r) => r.perSecond), apiCpuPerK: mid(rs, (r) => r.apiCpuPerK), redisCpuPerK: mid(rs, (r) => r.redisCpuPerK), rounds: rs.length },
    ]),
  );
}

/** One Server-Sent Events client of a task, counting `task` events until the stream ends or it is closed. */
class SseClient {
  events = 0;
  readonly openedAt = Date.now();
  /** When the stream ended (the task finished) or the client left. */
  closedAt: number | undefined;
  private readonly req: ReturnType<typeof request>;
  readonly opened: Promise<void>;

  constructor(port: number, taskId: string, headers: Record<string, string>) {
    let buffer = '';
    this.req = request({ agent: false, host: '127.0.0.1', port, path: `/api/v1/tasks/${encodeURIComponent(taskId)}/events`, headers });
    this.opened = new Promise((resolve, reject) => {
      this.req.on('response', (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET /tasks/${taskId}/events answered ${res.statusCode}`));
        resolve();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const event = /^event: (.*)$/m.exec(buffer.slice(0, cut))?.[1];
            buffer = buffer.slice(cut + 2);
            if (event === 'task') this.events += 1;
          }
        });
        res.on('end', () => (this.closedAt ??= Date.now()));
        res.on('error', () => undefined);
      });
      this.req.on('error', (err) => (this.closedAt === undefined ? reject(err) : undefined));
    });
    this.opened.catch(() => undefined);
    this.req.end();
  }

  close(): void {
    this.closedAt ??= Date.now();
    this.req.destroy();
  }
}

const ENDINGS = new Set(['event.task.completed', 'event.task.failed', 'event.task.cancelled']);

/**
 * SSE_TASKS tasks kept running: a task that finishes (seen on the broker, not asked of the API) is replaced by a new
 * one at once, and gets a client of its own when clients are on. The pipeline works through its queue in order, so
 * at any moment one or two of the tasks progress and the others wait (pending: accepted, nothing stored yet).
 */
class RunningTasks {
  readonly tasks = new Map<string, SseClient | null>();
  readonly clients: SseClient[] = [];
  readonly finished = new Set<string>();
  created = 0;
  withClients = false;
  private seen = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly master: string,
    private readonly endings: QueueSpy,
  ) {}

  /** Replaces the finished tasks and opens the missing clients. */
  async refresh(): Promise<void> {
    for (; this.seen < this.endings.messages.length; this.seen++) {
      const m = this.endings.messages[this.seen]!;
      const taskId = (m.json as { taskId?: unknown } | undefined)?.taskId;
      if (ENDINGS.has(m.routingKey) && typeof taskId === 'string') this.finished.add(taskId);
    }
    for (const [taskId, client] of this.tasks) {
      if (!this.finished.has(taskId)) continue;
      client?.close();
      this.tasks.delete(taskId);
    }
    while (this.tasks.size < SSE_TASKS) {
      this.tasks.set(await this.api.createTask(this.master, SSE_TASK_CHANNELS, 'c'), null);
      this.created += 1;
    }
    if (!this.withClients) return;
    for (const [taskId, client] of this.tasks) {
      if (client !== null) continue;
      const fresh = new SseClient(this.api.port, taskId, this.api.bearer);
      this.tasks.set(taskId, fresh);
      this.clients.push(fresh);
      await fresh.opened;
    }
  }

  /** Keeps the tasks (and clients) topped up for `seconds`; returns the API's share of a core meanwhile. */
  async window(apiPid: number, seconds: number): Promise<{ share: number; wall: number; start: number; end: number }> {
    const cpu0 = await cpuSeconds(apiPid);
    const start = Date.now();
    const t0 = process.hrtime.bigint();
    while (Date.now() - start < seconds * 1000) {
      await this.refresh();
      await delay(200);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    return { share: ((await cpuSeconds(apiPid)) - cpu0) / wall, wall, start, end: Date.now() };
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    // The rest of their channels is not needed: stop them rather than wait.
    for (const taskId of this.tasks.keys()) await this.api.call('POST', `/tasks/${encodeURIComponent(taskId)}/cancel`).catch(() => undefined);
  }
}

async function isMemoryFs(dir: string): Promise<boolean> {
  return MEMORY_FS_TYPES.has((await statfs(dir)).type);
}

/**
 * A directory on a real disk for the master root (uploads) and the `cp` copies: SUBPACK_BENCH_OUT, else /var/tmp, else
 * the repository's own tmp/, the first that is not an in-memory filesystem and has room.
 */
async function diskRoot(bytesNeeded: number): Promise<string> {
  const explicit = process.env.SUBPACK_BENCH_OUT;
  const candidates = explicit ? [explicit] : ['/var/tmp', join(ROOT, 'tmp')];
  for (const dir of candidates) {
    await mkdir(dir, { recursive: true });
    const fs = await statfs(dir);
    if (!(await isMemoryFs(dir)) && fs.bavail * fs.bsize > bytesNeeded * 1.5) return mkdtemp(join(dir, 'subpack-bench-api-'));
    if (explicit) throw new Error(`SUBPACK_BENCH_OUT=${explicit} is an in-memory filesystem or lacks ${bytesNeeded} bytes`);
  }
  throw new Error(`no disk with ${bytesNeeded} free bytes among ${candidates.join(', ')}; set SUBPACK_BENCH_OUT`);
}

interface UploadFigures {
  tus: number[];
  cp: number[];
  /** CPU seconds of the API process per tus upload. */
  tusApiCpu: number[];
}

/** UPLOAD_ROUNDS rounds of a tus upload and a `cp` of the master into the same directory tree, alternating who goes first. */
async function uploadPhase(api: ApiClient, apiPid: number, master: string, cpDir: string): Promise<UploadFigures> {
  const figures: UploadFigures = { tus: [], cp: [], tusApiCpu: [] };
  const size = (await stat(master)).size;
  await timed('cat', [master], { discardStdout: true }); // page cache: both sides read the master from memory
  for (let round = 1; round <= UPLOAD_ROUNDS; round++) {
    const order: ('tus' | 'cp')[] = round % 2 ? ['tus', 'cp'] : ['cp', 'tus'];
    for (const side of order) {
      await timed('sync', []); // nobody pays for the previous write-back
      if (side === 'tus') {
        const cpu0 = await cpuSeconds(apiPid);
        const start = process.hrtime.bigint();
        const record = await api.upload(master, 'bench-300m.apk');
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        figures.tusApiCpu.push((await cpuSeconds(apiPid)) - cpu0);
        if (record.size !== size) throw new Error(`the uploaded master has ${record.size} bytes, not ${size}`);
        figures.tus.push(seconds);
        await api.call('DELETE', `/masters/${record.id}`);
      } else {
        const copy = join(cpDir, `copy-${round}.apk`);
        figures.cp.push((await timed('cp', [master, copy])).seconds);
        await rm(copy);
      }
      process.stderr.write(`  upload round ${round} ${side}: ${fmt(size / 1e6 / figures[side].at(-1)!, 0)} MB/s\n`);
    }
  }
  await timed('sync', []);
  return figures;
}

interface SseFigures {
  quietCpu: number;
  sseCpu: number;
  /** Task events all clients received in the window, per client-second. */
  eventsPerClientSecond: number;
  /** The highest rate of one client that was open for at least 5 s of the window. */
  busiestClient: number;
  created: { quiet: number; sse: number };
  /** The tasks' states when the window ended, e.g. "1 running, 19 pending". */
  endStates: string;
}

/**
 * SSE_TASKS running tasks of SSE_TASK_CHANNELS channels: the API's CPU for SSE_SECONDS / 2 without clients, then for
 * SSE_SECONDS with one client per task; finished tasks are replaced in both windows alike.
 */
async function ssePhase(api: ApiClient, apiPid: number, master: string, endings: QueueSpy): Promise<SseFigures> {
  const pool = new RunningTasks(api, master, endings);
  try {
    const settle = Date.now() + 3000;
    while (Date.now() < settle) {
      await pool.refresh();
      await delay(200);
    }
    const before = pool.created;
    const quiet = await pool.window(apiPid, SSE_SECONDS / 2);
    const afterQuiet = pool.created;
    process.stderr.write(`  API CPU with ${SSE_TASKS} unfinished tasks and no SSE client: ${fmt(quiet.share * 100, 1)} % of a core (${afterQuiet - before} tasks replaced)\n`);
    pool.withClients = true;
    await pool.refresh();
    await delay(1000); // past each stream's first (immediate) event
    const base = new Map(pool.clients.map((c) => [c, c.events]));
    const sse = await pool.window(apiPid, SSE_SECONDS);
    let events = 0;
    let clientSeconds = 0;
    let busiestClient = 0;
    for (const c of pool.clients) {
      const alive = (Math.min(c.closedAt ?? sse.end, sse.end) - Math.max(c.openedAt, sse.start)) / 1000;
      if (alive <= 0) continue;
      const got = c.events - (base.get(c) ?? 0);
      events += got;
      clientSeconds += alive;
      if (alive >= 5) busiestClient = Math.max(busiestClient, got / alive);
    }
    const views = await Promise.all([...pool.tasks.keys()].map((id) => api.task(id)));
    const states = new Map<string, number>();
    for (const v of views) states.set(v.status, (states.get(v.status) ?? 0) + 1);
    const endStates = [...states].map(([k, n]) => `${n} ${k}`).join(', ');
    process.stderr.write(
      `  API CPU with ${SSE_TASKS} SSE clients: ${fmt(sse.share * 100, 1)} % of a core (${pool.created - afterQuiet} tasks replaced); ` +
        `${fmt(events / clientSeconds, 2)} events per client per second; at the end ${endStates}, channels stored: ${views.map((v) => v.done).join(' ')}\n`,
    );
    return {
      quietCpu: quiet.share,
      sseCpu: sse.share,
      eventsPerClientSecond: events / clientSeconds,
      busiestClient,
      created: { quiet: afterQuiet - before, sse: pool.created - afterQuiet },
      endStates,
    };
  } finally {
    await pool.stop();
  }
}

interface Row {
  what: string;
  goal: string;
  measured: string;
  baseline: string;
  ratio: string;
  met: boolean | null;
}

async function main(): Promise<void> {
  await preflight('bench:api', [NEEDS.android, NEEDS.cp, NEEDS.rabbitmq, NEEDS.redis]);
  process.stderr.write(`building a ${MEGABYTES} MB signed master (cached after the first run) and the small one...\n`);
  const bigMaster = await benchMaster(MEGABYTES);
  const masterBytes = (await stat(bigMaster)).size;
  const smallMaster = await standardApk('v1v2v3');
  const disk = await diskRoot(masterBytes * 2);
  const masterRoot = join(disk, 'masters');
  const cpDir = join(masterRoot, 'cp');
  await mkdir(cpDir, { recursive: true });
  let stack: E2eStack | undefined;
  try {
    stack = await E2eStack.create('apibench', { masterDirs: [masterRoot] });
    const target = await stack.makeDir('target');
    const quiet = { LOG_LEVEL: 'warn' };
    await stack.startPipeline({ packer: quiet, uploader: quiet, scheduler: quiet });
    const apiProcess: ServiceProcess = await stack.start('api', {
      ...stack.rootsEnv,
      SUBPACK_MASTER_ROOTS: pathToFileURL(masterRoot).href,
      SUBPACK_API_DESTINATIONS: `bench=${pathToFileURL(target).href}`,
      SUBPACK_API_ADMIN: ADMIN.name,
      SUBPACK_API_ADMIN_PASSWORD: ADMIN.password,
      SUBPACK_API_LINK_KEY: 'bench-link-key-0123456789abcdef0123456789',
    });
    const apiPid = apiProcess.pid!;
    const api = new ApiClient(apiProcess.port);
    await api.signIn(ADMIN.name, ADMIN.password);
    process.stderr.write(`API pid ${apiPid} on port ${api.port}; master root ${masterRoot}\n`);

    // 3. Upload first, while the pipeline is idle, so the disk and the cores are the upload's and cp's alone.
    process.stderr.write(`upload: ${fmt(masterBytes / 1e6, 0)} MB through tus (${CHUNK_BYTES / 2 ** 20} MiB chunks) vs cp, ${UPLOAD_ROUNDS} rounds each...\n`);
    const uploads = await uploadPhase(api, apiPid, bigMaster, cpDir);

    // 1. Latency: a full page of tasks in the list, then the 10,000-channel task while it runs and after.
    const pids: Pids = { api: apiPid, redis: await redisPid() };
    const small = await api.upload(smallMaster, 'bench-small.apk');
    process.stderr.write(`latency: ${LIST_TASKS} tasks of 10 channels, then one of ${BIG_TASK_CHANNELS}...\n`);
    const listed: string[] = [];
    for (let i = 0; i < LIST_TASKS; i++) listed.push(await api.createTask(small.id, 10, `l${i}`));
    await api.waitFinished(listed);
    const bigStarted = Date.now();
    const big = await api.createTask(small.id, BIG_TASK_CHANNELS, 'ch');
    const startDeadline = Date.now() + TIMEOUT_MS;
    while ((await api.task(big)).done === 0) {
      if (Date.now() > startDeadline) throw new Error(`the ${BIG_TASK_CHANNELS}-channel task stored nothing within ${TIMEOUT_MS} ms`);
      await delay(200);
    }
    const endpoints: Endpoint[] = [
      { name: 'GET /health/live', path: '/health/live', headers: {} },
      { name: 'GET /api/v1/tasks', path: '/api/v1/tasks', headers: api.bearer },
      { name: 'GET /api/v1/tasks/{id}', path: `/api/v1/tasks/${encodeURIComponent(big)}`, headers: api.bearer },
    ];
    const doneBefore = (await api.task(big)).done;
    const running = await latencyPhase(api.port, endpoints, pids, {
      label: 'running',
      requests: Math.ceil(REQUESTS / 2),
      stillValid: async () => (await api.task(big)).status === 'running',
    });
    const atEnd = await api.task(big);
    process.stderr.write(`  the task went from ${doneBefore} to ${atEnd.done} of ${BIG_TASK_CHANNELS} channels stored during the load (${atEnd.status})\n`);
    const [finished] = await api.waitFinished([big]);
    const bigSeconds = (Date.parse(finished!.finishedAt ?? new Date().toISOString()) - bigStarted) / 1000;
    if (finished!.status !== 'done' || finished!.done !== BIG_TASK_CHANNELS) throw new Error(`the ${BIG_TASK_CHANNELS}-channel task ended ${JSON.stringify(finished)}`);
    process.stderr.write(`  the task finished (${finished!.done} channels) ${fmt(bigSeconds, 1)} s after it was created\n`);
    const after = await latencyPhase(api.port, endpoints, pids, { label: 'finished', requests: REQUESTS });

    // 2. SSE: the endings of tasks come from the broker, so keeping 20 tasks running costs the API no polling.
    const endings = await stack.spy('endings', { exchange: 'subpack', routingKey: 'event.task.*' });
    process.stderr.write(`SSE: ${SSE_TASKS} unfinished tasks of ${SSE_TASK_CHANNELS} channels, ${SSE_SECONDS / 2} s without clients, ${SSE_SECONDS} s with one each...\n`);
    const sse = await ssePhase(api, apiPid, small.id, endings);

    // The table.
    const rows: Row[] = [];
    const runningLabel = `while it runs (${doneBefore} → ${atEnd.done} channels stored)`;
    for (const [phase, figures] of [
      [runningLabel, running],
      ['after it finished', after],
    ] as const) {
      const h = figures.get(endpoints[0]!.name)!;
      for (const e of endpoints.slice(1)) {
        const l = figures.get(e.name)!;
        if (l.rounds === 0) {
          rows.push({ what: `${e.name} p50 / p99, ${phase}`, goal: `p99 < ${GOAL_P99_MS} ms`, measured: 'no round ended before the task', baseline: '', ratio: '', met: null });
          continue;
        }
        const rounds = l.rounds === ROUNDS ? '' : ` (${l.rounds} round${l.rounds === 1 ? '' : 's'})`;
        rows.push({ what: `${e.name} p50, ${phase}${rounds}`, goal: '', measured: `${fmt(l.p50, 1)} ms`, baseline: `${fmt(h.p50, 1)} ms`, ratio: `${fmt(l.p50 / h.p50, 2)}x`, met: null });
        rows.push({
          what: `${e.name} p99, ${phase}${rounds}`,
          goal: `< ${GOAL_P99_MS} ms`,
          measured: `${fmt(l.p99, 1)} ms (${fmt(l.perSecond, 0)} req/s)`,
          baseline: `${fmt(h.p99, 1)} ms (${fmt(h.perSecond, 0)} req/s)`,
          ratio: `${fmt(l.p99 / h.p99, 2)}x`,
          met: l.p99 < GOAL_P99_MS,
        });
      }
    }
    rows.push({
      what: `API CPU, ${SSE_TASKS} SSE clients on ${SSE_TASKS} unfinished tasks`,
      goal: `< ${GOAL_SSE_CPU * 100} % of a core`,
      measured: `${fmt(sse.sseCpu * 100, 1)} %`,
      baseline: `${fmt(sse.quietCpu * 100, 1)} % (same tasks, no client)`,
      ratio: `${fmt(sse.sseCpu / sse.quietCpu, 2)}x`,
      met: sse.sseCpu < GOAL_SSE_CPU,
    });
    rows.push({
      what: 'SSE task events per client per second',
      goal: 'a few',
      measured: `${fmt(sse.eventsPerClientSecond, 2)} (busiest client ${fmt(sse.busiestClient, 2)})`,
      baseline: '',
      ratio: '',
      met: null,
    });
    const tusRate = masterBytes / 1e6 / median(uploads.tus);
    const cpRate = masterBytes / 1e6 / median(uploads.cp);
    rows.push({
      what: `${fmt(masterBytes / 1e6, 0)} MB signed master through tus`,
      goal: `≥ ${GOAL_UPLOAD_RATIO} of cp`,
      measured: `${fmt(tusRate, 0)} MB/s (${fmt(median(uploads.tus), 2)} s, API CPU ${fmt(median(uploads.tusApiCpu), 2)} s)`,
      baseline: `cp ${fmt(cpRate, 0)} MB/s (${fmt(median(uploads.cp), 2)} s)`,
      ratio: `${fmt(tusRate / cpRate, 2)}x`,
      met: tusRate / cpRate >= GOAL_UPLOAD_RATIO,
    });

    const cpuLine = (name: string): string => {
      const l = after.get(name)!;
      return `${name} ${fmt(l.apiCpuPerK, 2)} + ${fmt(l.redisCpuPerK, 2)}`;
    };
    console.log(
      `\n${CLIENTS} concurrent keep-alive clients (bearer token), medians of up to ${ROUNDS} rounds of ${REQUESTS} requests per endpoint ` +
        `(${Math.ceil(REQUESTS / 2)} while the task runs; a round that ends after the task is not counted); the list holds ` +
        `${LIST_TASKS + 1} tasks (its default page of 50); the task has ${BIG_TASK_CHANNELS} channels of a ` +
        `${fmt((await stat(smallMaster)).size / 1024, 1)} KiB master to a file:// destination (1 packer, 1 uploader; done ${fmt(bigSeconds, 0)} s after it was created)`,
    );
    console.log('latency baseline: GET /health/live of the same API process, under the same load, in the same rounds');
    console.log(`CPU s per 1,000 requests after the task finished, API + Redis: ${endpoints.map((e) => cpuLine(e.name)).join('; ')}`);
    console.log(
      `SSE: API CPU (utime + stime from /proc/<pid>/stat over wall time), ${SSE_SECONDS} s with the clients, baseline ${SSE_SECONDS / 2} s before ` +
        `without; a finished task is replaced at once in both (${sse.created.quiet} and ${sse.created.sse} replaced); the pipeline takes the tasks in ` +
        `order, a task is pending (accepted, nothing stored yet) until its first channel is stored: at the end ${sse.endStates}`,
    );
    console.log(
      `upload: tus (${CHUNK_BYTES / 2 ** 20} MiB chunks, session cookie, until the last PATCH answered with the inspected master) vs cp into the ` +
        `master root on the disk, medians of ${UPLOAD_ROUNDS} alternating rounds, sync untimed\n`,
    );
    console.log('| measure | goal | measured | baseline | ratio | met |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.what} | ${r.goal} | ${r.measured} | ${r.baseline} | ${r.ratio} | ${r.met === null ? '' : r.met ? 'yes' : 'NO'} |`);
    const missed = rows.filter((r) => r.met === false).length;
    if (missed > 0) {
      console.log(`\n${missed} goal(s) missed`);
      process.exitCode = 1;
    }
  } finally {
    if (stack !== undefined) {
      const exits = await stack.stopAll();
      for (const [label, exit] of exits) if (exit.code !== 0) process.stderr.write(`${label} exited ${exit.code ?? exit.signal} on SIGTERM\n`);
      await stack.cleanup();
    }
    await rm(disk, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
