// The broker node the services use and the Redis primary die within the same second, mid-task, on engines of this
// file's own (a 3-node RabbitMQ cluster on 5611-5613 and Redis with Sentinel on 26331-26343, all booting at once).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeLabel, assertCompletedOnce, assertQueuesDrain, onOwnEngines, startFailoverTask, storedChannels, subpack, waitFor } from './harness';

const CHANNELS = 2000;
const READY_MS = 120_000;

const engines = onOwnEngines('both', {
  broker: { ports: [5611, 5612, 5613], distBase: 25611, prefix: 'subpack-e2e-both-' },
  redis: { dataPorts: [26331, 26332], sentinelPorts: [26341, 26342, 26343], masterName: 'subpack-e2e-both' },
});

test('broker node and Redis primary killed in the same second: every channel stored once, one completion', { timeout: 900_000 }, async () => {
  const s = engines.stack;
  const cluster = engines.broker;
  const redis = engines.redis;
  // One at a time, each with a minute or two: the first declares the topology's quorum queues on every node.
  const services = [await s.start('packer', { SUBPACK_BATCH_SIZE: '50' }, READY_MS), await s.start('uploader', {}, READY_MS), await s.start('retry-scheduler', {}, READY_MS)];
  const brokerNode = await activeLabel(services[0]!, 'subpack_broker_node', 'node');
  assert.ok(brokerNode !== undefined);

  const run = await startFailoverTask(s, CHANNELS, 50);
  const storedAtKill = storedChannels(run.tap.messages, run.taskId).size;
  assert.ok(storedAtKill < CHANNELS, `the kills must come mid-task (${storedAtKill} stored)`);
  const started = Date.now();
  await Promise.all([cluster.nodeAt(brokerNode).kill(), redis.nodeAt(26331).kill()]);
  assert.ok(Date.now() - started < 1000, 'both died within the same second');

  await waitFor('subpack status through the new primary', async () => (await subpack(['status', run.taskId, '--json'], s.env)).code === 0, {
    timeoutMs: 90_000,
    detail: () => redis.outputs(),
  });
  await redis.restartAsReplica(redis.nodeAt(26331), 26332);
  try { await assertCompletedOnce(s, run, 600_000); } finally { (await import('node:fs')).writeFileSync('/tmp/out49.log', s.outputs(50_000_000)); }
  await assertQueuesDrain(s, run, cluster, 120_000);
  for (const service of services) assert.ok(service.running, `${service.label} survived\n${service.outputTail()}`);
});
