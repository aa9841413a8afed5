import { MESSAGING_DEFAULTS } from '../defaults';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { type AmqpConnectionOptions, AmqpConnectionManager, type ConnectionManagerEvents, type ConnectionState } from '../connection-manager';
import { TransientError } from '../errors';
import type { IncomingMessage } from '../incoming-message';
import { AmqpContext } from './amqp-context';

/** Connection manager events, as Nest's `Server.on()` expects them. */
export type AmqpTransportEvents = { [K in keyof ConnectionManagerEvents]: (...args: ConnectionManagerEvents[K]) => void };

export interface AmqpTransportOptions {
  /** Share a manager with the rest of the service (e.g. its publisher); otherwise one is created from `connection`. */
  readonly manager?: AmqpConnectionManager;
  readonly connection?: AmqpConnectionOptions;
  /** Per-queue prefetch; default 1. */
  readonly prefetch?: number | Readonly<Record<string, number>>;
  /** Bound of close()'s wait for running handlers. Default 30 s. */
  readonly drainTimeoutMs?: number;
  /** Deadline of each handler run (see ConsumeOptions.handlerTimeoutMs). Default none. */
  readonly handlerTimeoutMs?: number;
}

/**
 * NestJS transport on amqplib: `@EventPattern('<queue name>')` handlers consume that queue; a handler's returned
 * Promise/Observable settles the message (ack on success, dead-letter on error); close() drains.
 */
export class AmqpTransport extends Server<AmqpTransportEvents, ConnectionState> implements CustomTransportStrategy {
  readonly manager: AmqpConnectionManager;

  constructor(private readonly transportOptions: AmqpTransportOptions) {
    super();
    const { manager, connection } = transportOptions;
    if (manager !== undefined) {
      this.manager = manager;
    } else if (connection !== undefined) {
      this.manager = new AmqpConnectionManager(connection);
    } else {
      throw new TypeError('AmqpTransport needs either `manager` or `connection` options');
    }
    this.manager.on('state', (state) => this._status$.next(state));
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    await this.manager.drain(this.transportOptions.drainTimeoutMs ?? MESSAGING_DEFAULTS.drainTimeoutMs);
  }

  on<EventKey extends keyof AmqpTransportEvents = keyof AmqpTransportEvents, EventCallback extends AmqpTransportEvents[EventKey] = AmqpTransportEvents[EventKey]>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    this.manager.on(event, callback as never);
  }

  /** The AmqpConnectionManager. */
  unwrap<T>(): T {
    return this.manager as T;
  }

  private async start(): Promise<void> {
    const queues = [...this.messageHandlers.keys()];
    this.checkPatterns(queues);
    await this.manager.connect(); // resolves at once when a shared manager is already connected
    for (const queue of queues) {
      const handler = this.messageHandlers.get(queue);
      if (handler === undefined) continue;
      const { handlerTimeoutMs } = this.transportOptions;
      await this.manager.consume(queue, (message) => this.dispatch(handler, queue, message), {
        prefetch: this.prefetchFor(queue),
        ...(handlerTimeoutMs !== undefined ? { handlerTimeoutMs } : {}),
      });
    }
  }

  /** Every pattern must name a queue of the declared topology, and be an event (no replies over this transport). */
  private checkPatterns(queues: readonly string[]): void {
    const known = new Set(this.manager.topology?.queues.map((queue) => queue.name));
    for (const queue of queues) {
      if (this.manager.topology !== undefined && !known.has(queue)) {
        throw new Error(`@EventPattern('${queue}') names no queue of the topology (known: ${[...known].join(', ') || 'none'})`);
      }
      if (this.messageHandlers.get(queue)?.isEventHandler !== true) {
        throw new Error(`'${queue}' is a @MessagePattern; the AMQP transport supports @EventPattern handlers only`);
      }
    }
  }

  private prefetchFor(queue: string): number {
    const { prefetch } = this.transportOptions;
    return typeof prefetch === 'number' ? prefetch : (prefetch?.[queue] ?? MESSAGING_DEFAULTS.prefetch);
  }

  private async dispatch(handler: MessageHandler, queue: string, message: IncomingMessage): Promise<void> {
    const data = message.json();
    try {
      const result: unknown = await handler(data, new AmqpContext([message, queue]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    } catch (error) {
      throw toError(error);
    }
  }
}

/**
 * Nest's default RPC exception filter replaces every error by `{ status: 'error', message }`, which would lose the
 * PermanentError class; AmqpErrorPassthroughFilter (installed by AmqpMessagingModule) keeps the original.
 */
function toError(error: unknown): unknown {
  if (error instanceof Error) return error;
  const message = typeof error === 'object' && error !== null && 'message' in error ? String(error.message) : String(error);
  return new TransientError(`handler failed: ${message} (install AmqpErrorPassthroughFilter to keep the original error)`);
}
