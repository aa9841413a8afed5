import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff';
import { withHeartbeat } from './connection-manager';

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.2 };

  it('grows exponentially up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, policy, () => 0));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  });

  it('applies jitter downwards only', () => {
    assert.equal(backoffDelay(3, policy, () => 1), 320);
    assert.equal(backoffDelay(10, policy, () => 0.5), 900);
  });
});

describe('withHeartbeat', () => {
  it('adds the heartbeat query parameter amqplib reads, keeping one already given', () => {
    assert.equal(withHeartbeat('amqp://guest:guest@127.0.0.1:5672', 15), 'amqp://guest:guest@127.0.0.1:5672?heartbeat=15');
    assert.equal(withHeartbeat('amqp://h/%2Fvhost?heartbeat=5', 15), 'amqp://h/%2Fvhost?heartbeat=5');
  });
});
