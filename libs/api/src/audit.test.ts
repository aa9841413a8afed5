import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { validateAuditRecord } from '@subpack/contracts';
import { AuditLog, type NumberedAuditEntry } from './audit';
import type { AuditEntry } from './http/router';

const entry: AuditEntry = {
  actor: 'ops',
  role: 'operator',
  action: 'cancelTask',
  method: 'POST',
  path: '/api/v1/tasks/release-1/cancel',
  status: 200,
  subject: 'release-1',
  ip: '203.0.113.7',
  at: '2025-06-01T12:00:30.000Z',
};

void describe('AuditLog', () => {
  let env: TestRedis;
  before(() => {
    env = openTestRedis();
  });
  after(async () => env.cleanup());

  void it('stores each record before publishing it, numbered, as a valid AuditRecord message with a stable id', async () => {
    const published: { record: NumberedAuditEntry; messageId: string; listedFirst: boolean }[] = [];
    const log: AuditLog = new AuditLog(env.redis, env.prefix, async (record, messageId) => {
      const listed = await log.list({ limit: 10 });
      published.push({ record, messageId, listedFirst: listed.items.some((item) => item.seq === record.seq) });
    });
    await log.record(entry);
    await log.record({ actor: 'anonymous', role: null, action: 'login', method: 'POST', path: '/api/v1/session', status: 401, ip: '198.51.100.23', at: entry.at });

    assert.deepEqual(published.map((p) => [p.record.seq, p.listedFirst]), [[1, true], [2, true]]);
    assert.deepEqual(published[0]?.record, { seq: 1, ...entry });
    assert.equal(published[0]?.messageId, `audit.recorded:1:${entry.at}`);
    for (const { record } of published) {
      const checked = validateAuditRecord(record);
      assert.deepEqual(checked.ok ? [] : checked.errors, [], `record ${record.seq}`);
    }
  });

  void it('keeps the record listed when the publish fails (the caller logs the failure)', async () => {
    const log = new AuditLog(env.redis, env.prefix, () => Promise.reject(new Error('broker unreachable')));
    await assert.rejects(log.record({ ...entry, subject: 'release-2' }), /broker unreachable/);
    const { items } = await log.list({ limit: 1 });
    assert.equal(items[0]?.subject, 'release-2');
  });
});
