import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SubpackEvent } from '@subpack/contracts';
import { Batcher, deliveryIdFor, type Timers } from './batcher';

/** Timers fired by the test, so the window is exercised without waiting. */
class ManualTimers implements Timers {
  readonly armed = new Map<number, () => void>();
  private next = 0;
  set(callback: () => void): unknown {
    this.armed.set(++this.next, callback);
    return this.next;
  }
  clear(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  fireAll(): void {
    const callbacks = [...this.armed.values()];
    this.armed.clear();
    callbacks.forEach((callback) => callback());
  }
}

function settledState(promise: Promise<void>): Promise<string> {
  return Promise.race([promise.then(() => 'resolved', () => 'rejected'), new Promise<string>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('Batcher', () => {
  it('sends a batch when it is full; add() resolves only after the flush', async () => {
    const sent: [string, number[]][] = [];
    const timers = new ManualTimers();
    const batcher = new Batcher<number>({ maxEvents: 3, windowMs: 1000 }, async (key, items) => void sent.push([key, items]), timers);
    const first = batcher.add('t1/s1', 1);
    batcher.add('t1/s1', 2).catch(() => undefined);
    assert.equal(await settledState(first), 'pending');
    assert.equal(batcher.size, 2);
    await batcher.add('t1/s1', 3);
    assert.equal(await settledState(first), 'resolved');
    assert.deepEqual(sent, [['t1/s1', [1, 2, 3]]]);
    assert.equal(timers.armed.size, 0, 'a full batch cancels its window timer');
  });

  it('sends a partial batch when its window ends, per key', async () => {
    const sent: [string, number[]][] = [];
    const timers = new ManualTimers();
    const batcher = new Batcher<number>({ maxEvents: 100, windowMs: 2000 }, async (key, items) => void sent.push([key, items]), timers);
    const waits = [batcher.add('a', 1), batcher.add('b', 2), batcher.add('a', 3)];
    assert.equal(timers.armed.size, 2);
    timers.fireAll();
    await Promise.all(waits);
    assert.deepEqual(sent.sort(), [['a', [1, 3]], ['b', [2]]]);
    assert.equal(batcher.size, 0);
  });

  it('rejects every waiter of a batch whose flush failed, so their messages are not acked', async () => {
    const timers = new ManualTimers();
    const batcher = new Batcher<number>({ maxEvents: 2, windowMs: 10 }, async () => {
      throw new Error('broker unavailable');
    }, timers);
    const results = await Promise.allSettled([batcher.add('k', 1), batcher.add('k', 2)]);
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
  });

  it('flushes on demand by key prefix (a task outcome sends its pending channel events first)', async () => {
    const sent: string[] = [];
    const batcher = new Batcher<number>({ maxEvents: 10, windowMs: 10 }, async (key) => void sent.push(key), new ManualTimers());
    const waits = [batcher.add('task1\0s1', 1), batcher.add('task1\0s2', 2), batcher.add('task2\0s1', 3)];
    await Promise.all(batcher.keysWithPrefix('task1\0').map((key) => batcher.flushKey(key)));
    assert.deepEqual(sent.sort(), ['task1\0s1', 'task1\0s2']);
    await batcher.flushAll();
    await Promise.all(waits);
    assert.deepEqual(sent.sort(), ['task1\0s1', 'task1\0s2', 'task2\0s1']);
  });
});

describe('deliveryIdFor', () => {
  const stored = (channel: string): SubpackEvent => ({ type: 'channel.stored', taskId: 't', channel, url: 'file:///o/a.apk', bytes: 1, md5: '0'.repeat(32), sha256: '0'.repeat(64), at: '2025-01-01T00:00:00Z' });
  it('is the event id for one event and a digest of the event ids for a batch, per subscription', () => {
    assert.equal(deliveryIdFor([stored('a')], 'k1'), 'channel.stored:t:a:k1');
    const batch = deliveryIdFor([stored('a'), stored('b')], 'k1');
    assert.match(batch, /^batch:t:[0-9a-f]{16}:k1$/);
    assert.equal(deliveryIdFor([stored('a'), { ...stored('b'), at: '2030-01-01T00:00:00Z' }], 'k1'), batch);
    assert.notEqual(deliveryIdFor([stored('a'), stored('c')], 'k1'), batch);
    assert.notEqual(deliveryIdFor([stored('a'), stored('b')], 'k2'), batch);
  });
});
