import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { PermanentError } from '../errors';
import { HEADERS } from '../names';
import { Publisher } from '../publisher';
import { buildTestTopology, createTestManager, deleteTestTopology, drainQueue, type TestTopology, waitUntil } from '../test-support/broker';
import { AmqpContext } from './amqp-context';
import { AmqpMessagingModule } from './amqp-messaging.module';
import { AmqpTransport } from './amqp-transport';

describe('AmqpTransport (NestJS custom transport strategy)', () => {
  const topologies: TestTopology[] = [];
  after(async () => {
    for (const topology of topologies) await deleteTestTopology(topology);
  });

  it('delivers to @EventPattern handlers, publishes follow-ups via the injected Publisher, keeps PermanentError', async () => {
    const topology = buildTestTopology([
      { name: 'tasks', routingKeys: ['task.pack'] },
      { name: 'rejects', routingKeys: ['task.reject'] },
      { name: 'events', routingKeys: ['event.#'] },
    ]);
    topologies.push(topology);
    const received: { data: unknown; attempt: number; queue: string }[] = [];
    const tasksQueue = topology.queue('tasks');
    const rejectsQueue = topology.queue('rejects');

    @Controller()
    class TasksController {
      constructor(private readonly publisher: Publisher) {}

      @EventPattern(tasksQueue)
      async onTask(@Payload() data: { taskId: string }, @Ctx() context: AmqpContext): Promise<void> {
        received.push({ data, attempt: context.getMessage().attempt, queue: context.getQueue() });
        await this.publisher.publish(topology.names.exchange, 'event.task.accepted', { type: 'task.accepted', taskId: data.taskId });
      }

      @EventPattern(rejectsQueue)
      onReject(): void {
        throw new PermanentError('taskId must not be empty');
      }
    }

    const manager = createTestManager(topology);
    @Module({ imports: [AmqpMessagingModule.forManager(manager)], controllers: [TasksController] })
    class AppModule {}

    const transport = new AmqpTransport({ manager, prefetch: 2 });
    const app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    await app.listen();
    try {
      await manager.publisher.publish(topology.names.exchange, 'task.pack', { taskId: 't-1' });
      await waitUntil('the handler', () => received.length === 1);
      assert.deepEqual(received, [{ data: { taskId: 't-1' }, attempt: 1, queue: tasksQueue }]);
      const [event] = await drainQueue(topology.queue('events'), 1);
      assert.deepEqual(JSON.parse(event?.content.toString('utf8') ?? 'null'), { type: 'task.accepted', taskId: 't-1' });

      await manager.publisher.publish(topology.names.exchange, 'task.reject', { taskId: '' });
      const [dead] = await drainQueue(topology.names.deadQueue, 1);
      const headers = dead?.properties.headers as Record<string, unknown>;
      assert.equal(headers[HEADERS.errorClass], 'permanent');
      assert.equal(headers[HEADERS.error], 'taskId must not be empty');
      assert.equal(headers[HEADERS.originQueue], rejectsQueue);
    } finally {
      await app.close();
    }
    assert.equal(manager.state, 'closed', 'closing the app drains the transport');
  });

  it('refuses to start when a pattern names no queue of the topology, or is a @MessagePattern', async () => {
    const topology = buildTestTopology([{ name: 'known', routingKeys: ['known'] }]);
    topologies.push(topology);

    @Controller()
    class UnknownController {
      @EventPattern(`${topology.prefix}.typo`)
      onTypo(): void {}
    }
    @Module({ controllers: [UnknownController] })
    class UnknownModule {}
    const unknown = await NestFactory.createMicroservice(UnknownModule, { strategy: new AmqpTransport({ manager: createTestManager(topology) }), logger: false });
    await assert.rejects(unknown.listen(), /names no queue of the topology/);
    await unknown.close();

    const known = topology.queue('known');
    @Controller()
    class RpcController {
      @MessagePattern(known)
      onRequest(): string {
        return 'reply';
      }
    }
    @Module({ controllers: [RpcController] })
    class RpcModule {}
    const rpc = await NestFactory.createMicroservice(RpcModule, { strategy: new AmqpTransport({ manager: createTestManager(topology) }), logger: false });
    await assert.rejects(rpc.listen(), /@EventPattern handlers only/);
    await rpc.close();
  });
});
