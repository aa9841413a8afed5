import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADERS } from './names';
import { decideRetry, type RetryPolicy } from './retry-policy';
import { tierBindingProblems } from './retry-scheduler';
import type { TopologySpec } from './topology';

const policy: RetryPolicy = {
  tiers: [
    { name: '5s', ttlMs: 5000 },
    { name: '30s', ttlMs: 30_000 },
    { name: '5m', ttlMs: 300_000 },
  ],
  maxAttempts: 5,
};

const failed = (attempt: number, errorClass = 'transient'): Record<string, unknown> => ({
  [HEADERS.attempt]: attempt,
  [HEADERS.errorClass]: errorClass,
  [HEADERS.error]: 'boom',
  [HEADERS.originQueue]: 'subpack.packer.tasks',
});

describe('decideRetry', () => {
  it('uses tier min(n-1, last) for attempt n', () => {
    const tiers = [1, 2, 3, 4].map((n) => {
      const decision = decideRetry(failed(n), policy);
      assert.equal(decision.action, 'retry');
      return decision.action === 'retry' ? decision.tier.name : '';
    });
    assert.deepEqual(tiers, ['5s', '30s', '5m', '5m']);
  });

  it('parks once attempt reaches maxAttempts, keeping the last error in the reason', () => {
    const decision = decideRetry(failed(5), policy);
    assert.deepEqual(decision, { action: 'park', reason: 'gave up after 5 attempts: boom', attempt: 5, originQueue: 'subpack.packer.tasks' });
  });

  it('parks a permanent error at once with its own message as the reason', () => {
    const decision = decideRetry(failed(1, 'permanent'), policy);
    assert.equal(decision.action, 'park');
    assert.equal(decision.action === 'park' && decision.reason, 'boom');
  });

  it('counts a broker dead-lettered message (no attempt header) as attempt 1 from x-first-death-queue', () => {
    const decision = decideRetry({ 'x-first-death-queue': 'subpack.uploader.store', 'x-first-death-reason': 'rejected' }, policy);
    assert.deepEqual(decision, { action: 'retry', tier: policy.tiers[0], attempt: 1, originQueue: 'subpack.uploader.store' });
  });

  it('accepts the attempt header as a numeric string (non-Node publishers)', () => {
    const decision = decideRetry({ ...failed(0), [HEADERS.attempt]: '2' }, policy);
    assert.equal(decision.action === 'retry' && decision.tier.name, '30s');
  });

  it('parks when the origin queue is unknown or no tier exists', () => {
    const noOrigin = decideRetry({ [HEADERS.attempt]: 1, [HEADERS.error]: 'x' }, policy);
    assert.equal(noOrigin.action, 'park');
    assert.match(noOrigin.action === 'park' ? noOrigin.reason : '', /origin queue unknown/);
    const noTiers = decideRetry(failed(1), { tiers: [], maxAttempts: 3 });
    assert.match(noTiers.action === 'park' ? noTiers.reason : '', /no retry tiers/);
  });
});

describe('tierBindingProblems', () => {
  const tiers = [{ name: '5s', ttlMs: 5000 }];
  const specWith = (args: Record<string, unknown>): TopologySpec => ({
    exchanges: [],
    queues: [{ name: 'subpack.retry.5s', bindings: [{ exchange: 'subpack.retry', routingKey: '', arguments: args }] }],
  });

  it('accepts a tier queue bound on the (non x-) tier routing header', () => {
    assert.deepEqual(tierBindingProblems(specWith({ 'x-match': 'all', 'subpack-tier': '5s' }), 'subpack.retry', 'subpack-tier', tiers), []);
  });

  it('rejects a binding on x- headers only, which RabbitMQ would match against every message', () => {
    const problems = tierBindingProblems(specWith({ 'x-match': 'all', 'x-subpack-tier': '5s' }), 'subpack.retry', 'subpack-tier', tiers);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /queue "subpack\.retry\.5s" binds "subpack\.retry" on x- headers only .*RabbitMQ ignores/);
    assert.match(problems[1] ?? '', /no queue is bound to "subpack\.retry" with "subpack-tier: 5s"/);
  });
});
