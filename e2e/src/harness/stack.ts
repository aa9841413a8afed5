import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before } from 'node:test';
import { fixtureCacheDir, makeTempDir } from '@subpack/testing';
import { createVhost, deleteVhost, publishJson, publishRaw, queueMessageCount, type PublishOptions, type Vhost } from './broker';
import { taskStatus, type TaskStatusView } from './cli';
import { eventsFor, eventsOf, type ReceivedEvent } from './events';
import { fileTargetUrl, fileUrl, REDIS_URL, type ServiceName } from './paths';
import { QueueSpy, type SpyBinding } from './queue-spy';
import { deleteRedisKeys, randomRedisPrefix } from './redis';
import { ServiceProcess, type ExitStatus } from './service-process';
import { packTask, uniqueTaskId } from './tasks';

export interface StackOptions {
  /** Retry tiers for the retry-scheduler; short so failure tests finish quickly. */
  retryTiers?: string;
  maxAttempts?: number;
  /** Directories masters may be read from besides the stack's work dir and the APK fixture cache. */
  masterDirs?: string[];
  /**
   * A broker of the test's own (every node of a cluster) instead of a vhost on the shared one: the services get the
   * whole list, the test's own connections (spies, publishes) use the last node.
   */
  amqpUrls?: string[];
  /** Redis variables of the test's own Redis (e.g. REDIS_SENTINELS) instead of the shared REDIS_URL. */
  redisEnv?: Record<string, string>;
}

/** Which services `startPipeline` starts: one packer and one uploader unless said, the retry-scheduler, a notifier if asked. */
export interface PipelineOptions {
  packers?: number;
  /** Variables every packer gets (e.g. SUBPACK_BATCH_SIZE). */
  packer?: Record<string, string>;
  /** 0 for a task whose channel jobs must wait in their queue. */
  uploaders?: number;
  uploader?: Record<string, string>;
  scheduler?: Record<string, string>;
  /** Started too, with these variables, when given. */
  notifier?: Record<string, string>;
}

export interface Pipeline {
  packers: ServiceProcess[];
  uploaders: ServiceProcess[];
  scheduler: ServiceProcess;
  notifier: ServiceProcess | undefined;
}

/**
 * A task as a test sends it: a master file and a target directory on this machine (made into file:// URLs), the
 * channel ids, and any other PackTask field. It gets a fresh id made from `label`.
 */
export interface LocalTask {
  label: string;
  master: string;
  target: string;
  channels: readonly string[];
  [field: string]: unknown;
}

/**
 * Everything one test file runs against: its own RabbitMQ vhost, Redis key prefix and temp directory, the service
 * processes it started and the spy queues it bound. `cleanup()` removes all of it, also after a failed test.
 */
export class E2eStack {
  readonly services: ServiceProcess[] = [];
  private readonly spies: QueueSpy[] = [];
  private readonly counters = new Map<ServiceName, number>();
  private closed = false;
  private outsideDir: Promise<string> | undefined;

  private constructor(
    /** On a broker of the test's own: its default vhost, reached through the last node. */
    readonly vhost: Vhost,
    readonly redisPrefix: string,
    readonly workDir: string,
    readonly options: Required<Omit<StackOptions, 'amqpUrls' | 'redisEnv'>> & Pick<StackOptions, 'amqpUrls' | 'redisEnv'>,
  ) {}

  static async create(label: string, options: StackOptions = {}): Promise<E2eStack> {
    const vhost = options.amqpUrls === undefined ? await createVhost(label) : { name: '/', amqpUrl: options.amqpUrls.at(-1)! };
    const workDir = await makeTempDir(`subpack-e2e-${label}-`);
    return new E2eStack(vhost, randomRedisPrefix(label), workDir, {
      retryTiers: options.retryTiers ?? '1s,2s',
      maxAttempts: options.maxAttempts ?? 5,
      masterDirs: [workDir, fixtureCacheDir(), ...(options.masterDirs ?? [])],
      ...(options.amqpUrls !== undefined ? { amqpUrls: options.amqpUrls } : {}),
      ...(options.redisEnv !== undefined ? { redisEnv: options.redisEnv } : {}),
    });
  }

  get amqpUrl(): string {
    return this.vhost.amqpUrl;
  }

  /** What every service and the CLI need to find this stack's broker vhost and Redis keys. */
  get env(): Record<string, string> {
    const amqp = this.options.amqpUrls?.join(',') ?? this.amqpUrl;
    return { AMQP_URL: amqp, ...(this.options.redisEnv ?? { REDIS_URL }), SUBPACK_REDIS_PREFIX: this.redisPrefix };
  }

  /** The storage roots the packer and uploader run with: masters from the fixtures, everything else in workDir. */
  get rootsEnv(): Record<string, string> {
    return {
      SUBPACK_MASTER_ROOTS: this.options.masterDirs.map((dir) => pathToFileURL(dir).href).join(','),
      SUBPACK_TARGET_ROOTS: pathToFileURL(this.workDir).href,
    };
  }

  private defaultsFor(name: ServiceName): Record<string, string> {
    if (name === 'retry-scheduler') {
      return { SUBPACK_RETRY_TIERS: this.options.retryTiers, SUBPACK_MAX_ATTEMPTS: String(this.options.maxAttempts) };
    }
    // The notifier must know which attempt the retry-scheduler parks after, to report it as given up.
    if (name === 'notifier') return { SUBPACK_MAX_ATTEMPTS: String(this.options.maxAttempts) };
    if (name === 'packer' || name === 'uploader') return this.rootsEnv;
    return {};
  }

  /** Starts a service process and waits until it is ready; `env` adds or overrides variables (e.g. SUBPACK_BATCH_SIZE). */
  async start(name: ServiceName, env: Record<string, string> = {}, readyTimeoutMs = 30_000): Promise<ServiceProcess> {
    const service = await this.launch(name, env);
    await service.waitReady(readyTimeoutMs);
    return service;
  }

  /** Starts a service process without waiting for it to be ready (for a test that watches readiness itself). */
  async launch(name: ServiceName, env: Record<string, string> = {}): Promise<ServiceProcess> {
    if (this.closed) throw new Error(`cannot start ${name}: the stack was cleaned up`);
    const n = (this.counters.get(name) ?? 0) + 1;
    this.counters.set(name, n);
    const service = await ServiceProcess.spawn(name, {
      label: `${name}#${n}`,
      env: { LOG_LEVEL: 'info', ...this.env, ...this.defaultsFor(name), ...env },
    });
    // Tracked before it is ready, so cleanup also kills a service whose start is still pending when a test fails.
    this.services.push(service);
    return service;
  }

  /** Packers, uploaders, the retry-scheduler and a notifier if asked, all starting at once; resolves when all are ready. */
  async startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
    const times = (count: number, name: ServiceName, env: Record<string, string> = {}): Promise<ServiceProcess[]> =>
      Promise.all(Array.from({ length: count }, () => this.start(name, env)));
    const [packers, uploaders, scheduler, notifier] = await Promise.all([
      times(options.packers ?? 1, 'packer', options.packer),
      times(options.uploaders ?? 1, 'uploader', options.uploader),
      this.start('retry-scheduler', options.scheduler),
      options.notifier === undefined ? undefined : this.start('notifier', options.notifier),
    ]);
    return { packers, uploaders, scheduler, notifier };
  }

  /** A new directory `name` in the work dir, inside the target root (fails if it exists). */
  async makeDir(name: string): Promise<string> {
    const dir = join(this.workDir, name);
    await mkdir(dir);
    return dir;
  }

  /** A directory outside every storage root, the same for the stack's lifetime (removed on cleanup): where a hostile task aims. */
  outsideRoots(): Promise<string> {
    this.outsideDir ??= makeTempDir('subpack-e2e-outside-');
    return this.outsideDir;
  }

  async spy(name: string, binding: SpyBinding): Promise<QueueSpy> {
    // On a cluster the spy starts on the last node (the services start on the first) and follows the others.
    const urls = this.options.amqpUrls === undefined ? this.amqpUrl : [...this.options.amqpUrls].reverse();
    const spy = await QueueSpy.open(urls, name, binding);
    this.spies.push(spy);
    return spy;
  }

  /** Every event: a queue bound to `event.#` on the main exchange. */
  eventTap(): Promise<QueueSpy> {
    return this.spy('events', { exchange: 'subpack', routingKey: 'event.#' });
  }

  /** A copy of every message sent to a retry tier (a headers binding with no header condition matches all). */
  retrySpy(): Promise<QueueSpy> {
    return this.spy('retry', { exchange: 'subpack.retry', arguments: { 'x-match': 'all' } });
  }

  /** A copy of every message a retry tier dead-letters back (routing key `queue.<origin queue>`). */
  redeliverySpy(): Promise<QueueSpy> {
    return this.spy('redelivered', { exchange: 'subpack', routingKey: 'queue.#' });
  }

  /** A copy of every parked message. */
  parkedSpy(): Promise<QueueSpy> {
    return this.spy('parked', { exchange: 'subpack.parked' });
  }

  publishTask(task: unknown, opts: PublishOptions = {}): Promise<void> {
    return publishJson(this.amqpUrl, task, opts);
  }

  /** Publishes the task as an outside publisher would (see LocalTask); returns its id. */
  async sendTask({ label, master, target, ...fields }: LocalTask, opts: PublishOptions = {}): Promise<string> {
    const taskId = uniqueTaskId(label);
    await this.publishTask(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(target), ...fields }), opts);
    return taskId;
  }

  /** Sends the task and waits for its task.completed (see waitForEvent); returns its id and that event. */
  async runTask(tap: QueueSpy, task: LocalTask, timeoutMs: number): Promise<{ taskId: string; completed: ReceivedEvent }> {
    const taskId = await this.sendTask(task);
    const [completed] = await this.waitForEvent(tap, taskId, 'task.completed', timeoutMs);
    return { taskId, completed: completed! };
  }

  publishRawTask(body: Buffer, opts: PublishOptions = {}): Promise<void> {
    return publishRaw(this.amqpUrl, body, opts);
  }

  queueMessageCount(queue: string): Promise<number> {
    return queueMessageCount(this.amqpUrl, queue);
  }

  status(taskId: string): Promise<TaskStatusView> {
    return taskStatus(taskId, this.env);
  }

  /** Deletes this stack's Redis keys: what a Redis restarted without persistence (or flushed) leaves behind. */
  flushState(): Promise<number> {
    return deleteRedisKeys(this.redisPrefix);
  }

  /** The captured output of every service, for failure messages. */
  outputs(chars = 2000): string {
    return this.services.map((s) => s.outputTail(chars)).join('\n');
  }

  /**
   * Waits until the tap holds at least `count` events of `type` for the task; a timeout shows the events seen so far
   * and every service's output.
   */
  async waitForEvent(tap: QueueSpy, taskId: string, type: string, timeoutMs: number, count = 1): Promise<ReceivedEvent[]> {
    await tap.waitFor(`${count} ${type} event(s) for task ${taskId}`, (m) => eventsFor(m, taskId, type).length >= count, timeoutMs, () =>
      this.describe(tap),
    );
    return eventsFor(tap.messages, taskId, type);
  }

  /** A summary of the events seen and every service's output, for failure messages. */
  describe(tap?: QueueSpy): string {
    const counts = new Map<string, number>();
    for (const { event } of tap ? eventsOf(tap.messages) : []) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    const failures = (tap ? eventsOf(tap.messages) : [])
      .filter((e) => e.event.type.endsWith('failed'))
      .slice(0, 5)
      .map((e) => JSON.stringify(e.event));
    return [`events seen: ${JSON.stringify(Object.fromEntries(counts))}`, ...failures, this.outputs()].join('\n');
  }

  /** SIGTERM to every running service at once; returns each one's exit status by label. */
  async stopAll(): Promise<Map<string, ExitStatus>> {
    const running = this.services.filter((s) => s.running);
    const statuses = await Promise.all(running.map((s) => s.stop()));
    return new Map(running.map((s, i) => [s.label, statuses[i]!]));
  }

  /** Kills what still runs, closes the spies, deletes the vhost, the Redis keys and the temp dir. Tries every step. */
  async cleanup(): Promise<void> {
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>): Promise<void> => {
      try {
        await work();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    this.closed = true;
    await attempt('kill services', () => Promise.all(this.services.map((s) => s.kill())));
    await attempt('close spies', () => Promise.all(this.spies.map((s) => s.close())));
    // A broker of the test's own goes away with its nodes.
    if (this.options.amqpUrls === undefined) await attempt(`delete vhost ${this.vhost.name}`, () => deleteVhost(this.vhost));
    // A Redis of the test's own goes away with its engines.
    if (this.options.redisEnv === undefined) await attempt(`delete Redis keys ${this.redisPrefix}*`, () => deleteRedisKeys(this.redisPrefix));
    await attempt(`remove ${this.workDir}`, () => rm(this.workDir, { recursive: true, force: true }));
    const outside = this.outsideDir;
    if (outside !== undefined) await attempt('remove the directory outside the roots', async () => rm(await outside, { recursive: true, force: true }));
    if (problems.length > 0) throw new Error(`e2e cleanup failed:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * The stack a test file's tests share: registers the hooks that create it before the first test (then run `setUp`,
 * e.g. start the pipeline) and clean it up after the last, whatever happened. The stack returned stands for the one
 * the hook creates; using it before then throws.
 */
export function stackPerFile(label: string, options: StackOptions = {}, setUp?: (stack: E2eStack) => Promise<unknown>): E2eStack {
  let stack: E2eStack | undefined;
  before(async () => {
    stack = await E2eStack.create(label, options);
    await setUp?.(stack);
  });
  after(() => stack?.cleanup());
  const created = (): E2eStack => {
    if (stack === undefined) throw new Error(`the stack of ${label} is used before its before hook created it`);
    return stack;
  };
  return new Proxy(Object.create(E2eStack.prototype) as E2eStack, {
    get(_placeholder, property) {
      const target = created();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_placeholder, property, value: unknown) {
      return Reflect.set(created(), property, value);
    },
  });
}
