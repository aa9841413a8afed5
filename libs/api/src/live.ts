import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AmqpConnectionManager, ConnectionManagerEvents } from '@subpack/messaging';
import { EXCHANGES, ROUTING_KEYS } from '@subpack/rules';
import type { Logger } from '@subpack/runtime';
import { FINISHED_STATUSES, type TaskStatus } from '@subpack/state';

type ChannelModel = ConnectionManagerEvents['connected'][0];

/** A task's state as streamed; `status` tells whether it is finished. */
export interface LiveView {
  taskId: string;
  status: TaskStatus;
}

export interface LiveFeedOptions<V extends LiveView> {
  manager: AmqpConnectionManager;
  logger: Logger;
  /** The task's current view, or null when it is unknown. Events only say "look again": the view comes from Redis. */
  read(taskId: string): Promise<V | null>;
  /** How often dirty tasks are sent: at most one update per task per period, whatever the event rate. */
  flushMs?: number;
  /** Subscribed tasks are read again this often even without events (a lost event or a broker away). */
  pollMs?: number;
  heartbeatMs?: number;
  /** Every event seen, with its routing key and message id (e.g. to count channels stored per minute). */
  onEvent?(routingKey: string, messageId: string | undefined): void;
}

interface Client {
  res: ServerResponse;
  /** Null for a client of the task list (every task). */
  taskId: string | null;
  /** The socket is full: updates wait (coalesced) until it drains. */
  blocked: boolean;
}

/**
 * Server-Sent Events of task progress, fed by the events exchange through a queue of this process's own (exclusive,
 * deleted with the connection). Each event only marks its task dirty; dirty tasks are read from Redis and sent at most
 * every `flushMs`, so a 10 000-channel task costs a client a few updates a second, not 10 000 messages.
 */
export class LiveFeed<V extends LiveView> {
  private readonly clients = new Set<Client>();
  private readonly dirty = new Set<string>();
  private readonly queue = `${EXCHANGES.main}.api.live.${randomBytes(6).toString('hex')}`;
  private timers: NodeJS.Timeout[] = [];
  private seq = 0;
  private readonly onConnected = (connection: ChannelModel): void => {
    void this.listen(connection);
  };

  constructor(private readonly options: LiveFeedOptions<V>) {}

  async start(): Promise<void> {
    this.options.manager.on('connected', this.onConnected);
    if (this.options.manager.state === 'connected') {
      const connection = await this.options.manager.waitForConnection(1000).catch(() => undefined);
      if (connection) await this.listen(connection);
    }
    this.timers = [
      setInterval(() => void this.flush(), this.options.flushMs ?? 250),
      setInterval(() => this.pollSubscribed(), this.options.pollMs ?? 2000),
      setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? 15_000),
    ];
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    this.options.manager.off('connected', this.onConnected);
    for (const t of this.timers) clearInterval(t);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Marks a task changed (an event, or a write this process made itself). */
  touch(taskId: string): void {
    this.dirty.add(taskId);
  }

  /** Streams one task (or, with null, every task) to `res` until it finishes or the client goes. */
  async subscribe(req: IncomingMessage, res: ServerResponse, taskId: string | null): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Tell EventSource how long to wait before reconnecting; it sends Last-Event-ID then and gets the current state.
    res.write('retry: 2000\n\n');
    const client: Client = { res, taskId, blocked: false };
    this.clients.add(client);
    const drop = (): void => {
      this.clients.delete(client);
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('drain', () => {
      client.blocked = false;
    });
    if (taskId !== null) {
      const view = await this.options.read(taskId);
      if (view) this.send(client, view);
    }
  }

  private async listen(connection: ChannelModel): Promise<void> {
    try {
      const channel = await connection.createChannel();
      channel.on('error', (error: unknown) => this.options.logger.warn({ error: String(error) }, 'live progress channel error'));
      await channel.assertQueue(this.queue, { exclusive: true, autoDelete: true, durable: false, arguments: { 'x-message-ttl': 60_000, 'x-max-length': 10_000 } });
      await channel.bindQueue(this.queue, EXCHANGES.main, ROUTING_KEYS.allEvents);
      await channel.consume(
        this.queue,
        (msg) => {
          if (msg === null) return;
          this.options.onEvent?.(msg.fields.routingKey, typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined);
          const taskId = taskIdOf(msg.content);
          if (taskId !== undefined && this.watched(taskId)) this.dirty.add(taskId);
        },
        { noAck: true },
      );
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'live progress cannot follow the events exchange; polling Redis instead');
    }
  }

  private watched(taskId: string): boolean {
    for (const c of this.clients) if (c.taskId === null || c.taskId === taskId) return true;
    return false;
  }

  private pollSubscribed(): void {
    for (const c of this.clients) if (c.taskId !== null) this.dirty.add(c.taskId);
  }

  private heartbeat(): void {
    for (const c of this.clients) if (!c.blocked) c.res.write(': keep-alive\n\n');
  }

  private async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const taskId of ids) {
      let view: V | null;
      try {
        view = await this.options.read(taskId);
      } catch (error) {
        this.options.logger.warn({ taskId, error: String(error) }, 'live progress cannot read a task');
        continue;
      }
      if (view === null) continue;
      for (const c of this.clients) if (c.taskId === null || c.taskId === taskId) this.send(c, view);
    }
  }

  private send(client: Client, view: V): void {
    if (client.blocked) {
      // The next flush after the socket drains carries the newest state; nothing queues up in memory meanwhile.
      this.dirty.add(view.taskId);
      return;
    }
    this.seq += 1;
    const ok = client.res.write(`id: ${Date.now()}-${this.seq}\nevent: task\ndata: ${JSON.stringify(view)}\n\n`);
    if (!ok) client.blocked = true;
    if (client.taskId !== null && FINISHED_STATUSES.has(view.status)) {
      client.res.write(`event: end\ndata: ${JSON.stringify({ taskId: view.taskId, status: view.status })}\n\n`);
      this.clients.delete(client);
      client.res.end();
    }
  }
}

function taskIdOf(content: Buffer): string | undefined {
  try {
    const body: unknown = JSON.parse(content.toString('utf8'));
    const taskId = body !== null && typeof body === 'object' ? (body as { taskId?: unknown }).taskId : undefined;
    return typeof taskId === 'string' && taskId.length <= 256 ? taskId : undefined;
  } catch {
    return undefined;
  }
}
