import type { Channel } from 'amqplib';
import { describeError, TopologyError } from './errors';

/**
 * The pure-data topology description. `@subpack/contracts`' `buildTopology(tiers)` satisfies it structurally;
 * tests build their own with random names.
 */
export interface TopologySpec {
  readonly exchanges: readonly ExchangeSpec[];
  readonly queues: readonly QueueSpec[];
}

export interface ExchangeSpec {
  readonly name: string;
  readonly type: string;
  readonly arguments?: Readonly<Record<string, unknown>>;
}

export interface QueueSpec {
  readonly name: string;
  /** Queue arguments; `x-queue-type` defaults to `quorum`. */
  readonly arguments?: Readonly<Record<string, unknown>>;
  readonly bindings: readonly BindingSpec[];
}

export interface BindingSpec {
  readonly exchange: string;
  readonly routingKey: string;
  readonly arguments?: Readonly<Record<string, unknown>>;
}

/** AMQP 0-9-1 reply code a broker closes the channel with when a declare disagrees with what exists. */
const PRECONDITION_FAILED = 406;

async function declareStep(what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    const reason = describeError(error);
    // RabbitMQ never changes an existing queue's arguments; the operator has to re-create it (see the contracts README).
    // amqplib puts the broker's reply code on the error it rejects with.
    const hint = (error as { code?: unknown }).code === PRECONDITION_FAILED
      ? '; the queue exists with other arguments: delete it (after draining what it holds) so it is declared anew'
      : '';
    throw new TopologyError(`cannot declare ${what}: ${reason}${hint}`, { cause: error });
  }
}

/**
 * Idempotent asserts: durable exchanges, durable (quorum by default) queues, bindings.
 * The first failure closes the channel (AMQP channel error), so the caller should pass a channel it can throw away.
 */
export async function declareTopology(channel: Channel, spec: TopologySpec): Promise<void> {
  for (const exchange of spec.exchanges) {
    await declareStep(`exchange "${exchange.name}" (${exchange.type})`, () =>
      channel.assertExchange(exchange.name, exchange.type, { durable: true, arguments: { ...exchange.arguments } }),
    );
  }
  for (const queue of spec.queues) {
    await declareStep(`queue "${queue.name}"`, () =>
      channel.assertQueue(queue.name, { durable: true, arguments: { 'x-queue-type': 'quorum', ...queue.arguments } }),
    );
  }
  for (const queue of spec.queues) {
    for (const binding of queue.bindings) {
      await declareStep(`binding of queue "${queue.name}" to exchange "${binding.exchange}" with key "${binding.routingKey}"`, () =>
        channel.bindQueue(queue.name, binding.exchange, binding.routingKey, { ...binding.arguments }),
      );
    }
  }
}
