import { rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { fixtureCacheDir, makeTempDir } from '@subpack/testing';
import { createVhost, deleteVhost, publishJson, publishRaw, queueMessageCount, type PublishOptions, type Vhost } from './broker';
import { taskStatus, type TaskStatusView } from './cli';
import { eventsFor, eventsOf, type ReceivedEvent } from './events';
import { REDIS_URL, type ServiceName } from './paths';
import { QueueSpy, type SpyBinding } from './queue-spy';
import { deleteRedisKeys, randomRedisPrefix } from './redis';
import { ServiceProcess, type ExitStatus } from './service-process';

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

/**
 * Everything one test file runs against: its own RabbitMQ vhost, Redis key prefix and temp directory, the service
 * processes it started and the spy queues it bound. `cleanup()` removes all of it, also after a failed test.
 */
export class E2eStack {
  readonly services: ServiceProcess[] = [];
  private readonly spies: QueueSpy[] = [];
  private readonly counters = new Map<ServiceName, number>();
  private closed = false;

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
    if (problems.length > 0) throw new Error(`e2e cleanup failed:\n  - ${problems.join('\n  - ')}`);
  }
}
