import { MESSAGING_DEFAULTS } from './defaults';
import { connect, type ChannelModel } from 'amqplib';
import { EventEmitter } from 'node:events';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
import type { ConnectionSource } from './connection-source';
import { type ConsumeOptions, Consumer, type MessageHandler } from './consumer';
import { describeError, NotConnectedError } from './errors';
import { type MessagingLogger, stderrLogger } from './logger';
import { type MessagingNames, resolveNames } from './names';
import { Publisher } from './publisher';
import { settleWithin } from './timeout';
import { declareTopology, type TopologySpec } from './topology';
import type { SigningOptions } from './signing';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export interface AmqpConnectionOptions {
  /**
   * e.g. amqp://guest:guest@127.0.0.1:5672, or one URL per node of a cluster: the manager connects to one, and when it
   * goes away moves on to the next that answers.
   */
  readonly url: string | readonly string[];
  /** Default 15 s. */
  readonly heartbeatSeconds?: number;
  /** Shown in the management UI / rabbitmqctl; default `subpack:<pid>`. */
  readonly connectionName?: string;
  /** Declared on every (re)connect before consumers are attached. */
  readonly topology?: TopologySpec;
  /** Failure-path names; default the contracts names. */
  readonly names?: Partial<MessagingNames>;
  readonly backoff?: Partial<BackoffPolicy>;
  /**
   * How long connect() keeps trying before it gives up (and closes the manager). Default 30 s. Infinity: for as long as
   * it takes (services, which must outlast a broker that starts after them).
   */
  readonly connectTimeoutMs?: number;
  /** TCP + AMQP handshake timeout of one connection attempt. Default 10 s. */
  readonly socketTimeoutMs?: number;
  /** How long a publish waits for a reconnect. Default 10 s. */
  readonly publishConnectTimeoutMs?: number;
  readonly logger?: MessagingLogger;
  /** Sign what is published and park unsigned messages on the internal queues (see SigningOptions). */
  readonly signing?: SigningOptions;
}

export interface ConnectionManagerEvents {
  state: [state: ConnectionState, previous: ConnectionState];
  connected: [connection: ChannelModel, node: string];
  disconnected: [error: unknown];
  /** The broker stopped reading what this connection publishes (a memory or disk alarm), with its reason. */
  blocked: [reason: string];
  unblocked: [];
  closed: [];
}

export interface DrainResult {
  /** True when every in-flight handler finished within the timeout. */
  readonly drained: boolean;
  /** Handlers still running when the connection was closed (their messages will be redelivered). */
  readonly abandoned: number;
}

interface Waiter {
  resolve(connection: ChannelModel): void;
  reject(error: Error): void;
}

/**
 * Owns the AMQP connection: connects, and after a connection loss reconnects with capped exponential backoff,
 * re-declaring the topology and re-attaching every registered consumer each time.
 */
export class AmqpConnectionManager extends EventEmitter<ConnectionManagerEvents> implements ConnectionSource {
  readonly names: MessagingNames;
  readonly publisher: Publisher;
  readonly logger: MessagingLogger;
  readonly topology: TopologySpec | undefined;
  readonly signing: SigningOptions | undefined;
  private stateValue: ConnectionState = 'idle';
  private connection?: ChannelModel;
  private readonly consumers = new Set<Consumer>();
  private readonly waiters = new Set<Waiter>();
  private loop?: Promise<void>;
  private stopRequested = false;
  private everConnected = false;
  private lastError?: string;
  private wakeFromPause?: () => void;
  private readonly backoff: BackoffPolicy;
  private readonly urls: readonly string[];
  /** The node tried first on the next connect: the one after the node last connected to (or last tried). */
  private nextNode = 0;
  private nodeValue?: string;
  private blockedReason?: string;

  constructor(private readonly options: AmqpConnectionOptions) {
    super();
    this.names = resolveNames(options.names);
    this.logger = options.logger ?? stderrLogger;
    this.topology = options.topology;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new TypeError('AmqpConnectionManager: url lists no node');
    this.signing = options.signing;
    const publisherOptions = {
      logger: this.logger,
      connectTimeoutMs: options.publishConnectTimeoutMs ?? MESSAGING_DEFAULTS.reconnectWaitMs,
      ...(options.signing ? { signer: options.signing.signer } : {}),
    };
    this.publisher = new Publisher(this, publisherOptions);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The node of the live connection (`host:port`, no credentials), or undefined while not connected. */
  get node(): string | undefined {
    return this.connection === undefined ? undefined : this.nodeValue;
  }

  /**
   * Why the broker blocks the live connection (connection.blocked, e.g. "low on memory"), or undefined. RabbitMQ tells
   * a connection only when it publishes during an alarm, and lifts it with connection.unblocked.
   */
  get blocked(): string | undefined {
    return this.connection === undefined ? undefined : this.blockedReason;
  }

  /** Starts connecting; resolves once connected with the topology declared. */
  async connect(): Promise<void> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') throw new NotConnectedError('connection manager is closed');
    if (this.loop === undefined && this.connection === undefined) this.loop = this.runConnectLoop();
    const timeoutMs = this.options.connectTimeoutMs ?? MESSAGING_DEFAULTS.connectTimeoutMs;
    try {
      await this.waitForConnection(timeoutMs);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  waitForConnection(timeoutMs: number): Promise<ChannelModel> {
    if (this.connection !== undefined) return Promise.resolve(this.connection);
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      return Promise.reject(new NotConnectedError('connection manager is closed'));
    }
    if (this.stateValue === 'idle') return Promise.reject(new NotConnectedError('connect() has not been called'));
    return new Promise<ChannelModel>((resolve, reject) => {
      // No timer for an unbounded wait (setTimeout would clamp Infinity to 1 ms).
      const timer = !Number.isFinite(timeoutMs) ? undefined : setTimeout(() => {
        this.waiters.delete(waiter);
        const cause = this.lastError === undefined ? '' : `; last error: ${this.lastError}`;
        reject(new NotConnectedError(`no connection to RabbitMQ within ${timeoutMs} ms (state ${this.stateValue}${cause})`, this.lastError));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (connection) => {
          clearTimeout(timer);
          resolve(connection);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Registers a consumer; it is attached now if connected, and after every reconnect.
   * Rejects (and unregisters it) when attaching fails now, e.g. because the queue does not exist.
   */
  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') throw new NotConnectedError(`cannot consume "${queue}": connection manager is closed`);
    const signedRoutingKey = this.signing?.signedQueues[queue];
    const consumer = new Consumer(queue, handler, signedRoutingKey !== undefined && options.signedRoutingKey === undefined ? { ...options, signedRoutingKey } : options, {
      publisher: this.publisher,
      logger: this.logger,
      deadExchange: this.names.deadExchange,
      parkedExchange: this.names.parkedExchange,
      ...(this.signing ? { signer: this.signing.signer } : {}),
    });
    this.consumers.add(consumer);
    if (this.connection !== undefined) {
      try {
        await consumer.attach(this.connection);
      } catch (error) {
        this.consumers.delete(consumer);
        throw new Error(`cannot consume queue "${queue}": ${describeError(error)}`, { cause: error });
      }
    }
    return consumer;
  }

  /** Consumers with handlers still running past their deadline, for readiness. */
  stuckConsumers(): { queue: string; stuck: number }[] {
    return [...this.consumers].filter((c) => c.stuckCount > 0).map((c) => ({ queue: c.queue, stuck: c.stuckCount }));
  }

  /** Graceful stop: cancel all consumers, wait (bounded) for running handlers, then close everything. */
  async drain(timeoutMs: number = MESSAGING_DEFAULTS.drainTimeoutMs): Promise<DrainResult> {
    const consumers = [...this.consumers];
    this.logger.info({ consumers: consumers.length }, 'draining: cancelling consumers');
    await Promise.all(consumers.map((consumer) => consumer.cancel()));
    const deadline = Date.now() + timeoutMs;
    for (const consumer of consumers) await consumer.whenIdle(deadline - Date.now());
    const abandoned = consumers.reduce((sum, consumer) => sum + consumer.inFlightCount, 0);
    if (abandoned > 0) this.logger.warn({ abandoned, timeoutMs }, 'drain timed out; unfinished messages will be redelivered');
    await Promise.all(consumers.map((consumer) => consumer.closeChannel()));
    await this.close();
    return { drained: abandoned === 0, abandoned };
  }

  /** Closes the connection (and with it every channel) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.stopRequested = true;
    this.setState('closing');
    this.wakeFromPause?.();
    await this.loop;
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) await connection.close().catch(() => undefined);
    this.rejectWaiters(new NotConnectedError('connection manager is closed'));
    this.setState('closed');
    this.emit('closed');
  }

  private async runConnectLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopRequested) {
      this.setState(this.everConnected ? 'reconnecting' : 'connecting');
      const outcome = await this.connectOnce();
      if (outcome !== 'retry') break;
      failures += 1;
      const delayMs = backoffDelay(failures, this.backoff);
      this.logger.warn({ attempt: failures, delayMs, error: this.lastError }, 'cannot connect to RabbitMQ; retrying');
      await this.pause(delayMs);
    }
    this.loop = undefined;
  }

  /** One round: every node once, starting with `nextNode`; backoff only after all of them failed. */
  private async openAnyNode(): Promise<{ connection: ChannelModel; node: string } | undefined> {
    const errors: string[] = [];
    for (let tried = 0; tried < this.urls.length && !this.stopRequested; tried += 1) {
      const index = (this.nextNode + tried) % this.urls.length;
      const url = this.urls[index]!;
      try {
        const connection = await connect(withHeartbeat(url, this.options.heartbeatSeconds ?? MESSAGING_DEFAULTS.heartbeatSeconds), {
          clientProperties: { connection_name: this.options.connectionName ?? `subpack:${process.pid}` },
          timeout: this.options.socketTimeoutMs ?? MESSAGING_DEFAULTS.socketTimeoutMs,
        });
        this.nextNode = index;
        return { connection, node: nodeAddress(url) };
      } catch (error) {
        errors.push(this.urls.length === 1 ? describeError(error) : `${nodeAddress(url)}: ${describeError(error)}`);
      }
    }
    this.lastError = errors.join('; ');
    return undefined;
  }

  private async connectOnce(): Promise<'connected' | 'retry' | 'stop'> {
    const opened = await this.openAnyNode();
    if (opened === undefined) return this.stopRequested ? 'stop' : 'retry';
    const { connection, node } = opened;
    const liveness = this.watch(connection);
    try {
      await this.setUp(connection);
    } catch (error) {
      this.lastError = describeError(error);
      const connectionDied = liveness.closed;
      await connection.close().catch(() => undefined);
      if (connectionDied) this.skipNode();
      // A setup error on a healthy connection (e.g. a queue that exists with other arguments) will not fix itself:
      // fail the first connect loudly. After a reconnect keep trying, the service is already running.
      if (!connectionDied && !this.everConnected) {
        this.logger.error({ error: this.lastError }, 'cannot set up RabbitMQ topology/consumers');
        this.rejectWaiters(error instanceof Error ? error : new Error(this.lastError));
        return 'stop';
      }
      return 'retry';
    }
    if (this.stopRequested || liveness.closed) {
      await connection.close().catch(() => undefined);
      if (liveness.closed) this.skipNode();
      return this.stopRequested ? 'stop' : 'retry';
    }
    this.connection = connection;
    this.nodeValue = node;
    // A new connection starts unblocked; the broker says so again at its first publish if the alarm still holds.
    this.blockedReason = undefined;
    this.everConnected = true;
    this.lastError = undefined;
    this.setState('connected');
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter.resolve(connection);
    }
    this.emit('connected', connection, node);
    return 'connected';
  }

  private watch(connection: ChannelModel): { closed: boolean } {
    const liveness = { closed: false };
    connection.on('error', (error: unknown) => this.logger.warn({ error: describeError(error) }, 'RabbitMQ connection error'));
    connection.on('blocked', (reason: unknown) => {
      const text = typeof reason === 'string' && reason !== '' ? reason : 'resource alarm';
      this.logger.warn({ reason: text }, `RabbitMQ blocked the connection: ${text} (a memory or disk alarm)`);
      if (this.connection !== connection) return;
      this.blockedReason = text;
      this.emit('blocked', text);
    });
    connection.on('unblocked', () => {
      this.logger.info({}, 'RabbitMQ unblocked the connection');
      if (this.connection !== connection || this.blockedReason === undefined) return;
      this.blockedReason = undefined;
      this.emit('unblocked');
    });
    connection.once('close', (error: unknown) => {
      liveness.closed = true;
      if (this.connection === connection) this.onConnectionLost(error);
    });
    return liveness;
  }

  private onConnectionLost(error: unknown): void {
    this.connection = undefined;
    this.lastError = error === undefined ? 'connection closed' : describeError(error);
    this.logger.warn({ error: this.lastError, node: this.nodeValue }, 'RabbitMQ connection lost');
    // The node that dropped us is the least likely to take us back: try the others first.
    this.skipNode();
    this.emit('disconnected', error);
    if (!this.stopRequested && this.loop === undefined) this.loop = this.runConnectLoop();
  }

  private async setUp(connection: ChannelModel): Promise<void> {
    if (this.topology !== undefined) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined); // reported through the failing declare call
      try {
        await declareTopology(channel, this.topology);
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
    // A consumer registered while this loop runs is visited too (Set iteration includes later additions).
    for (const consumer of this.consumers) {
      if (!consumer.isCancelled) await consumer.attach(connection);
    }
  }

  private async pause(ms: number): Promise<void> {
    await settleWithin(
      new Promise<void>((resolve) => {
        this.wakeFromPause = resolve;
      }),
      ms,
    );
    this.wakeFromPause = undefined;
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter.reject(error);
    }
  }

  private skipNode(): void {
    this.nextNode = (this.nextNode + 1) % this.urls.length;
  }

  private setState(state: ConnectionState): void {
    const previous = this.stateValue;
    if (previous === state) return;
    this.stateValue = state;
    const node = state === 'connected' ? this.nodeValue : undefined;
    this.logger.info({ state, previous, ...(node === undefined ? {} : { node }) }, `RabbitMQ connection ${state}${node === undefined ? '' : ` to ${node}`}`);
    this.emit('state', state, previous);
  }
}

/** A node's address for logs and metrics: `host:port` (port 5672/5671 when the URL has none), never credentials. */
export function nodeAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672')}`;
}

/** amqplib reads the heartbeat from the URL only; an explicit `heartbeat` query parameter wins. */
export function withHeartbeat(url: string, heartbeatSeconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
  return parsed.toString();
}
