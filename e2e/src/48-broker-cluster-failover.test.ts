// A 3-node RabbitMQ cluster of this file's own (ports 5601-5603, started once, all nodes booting in parallel): the
// services get all three URLs, each starting on another node; the node each of them uses is killed with SIGKILL
// mid-task, one after another, and restarted before the next kill, so the quorum queues keep their majority.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeLabel, assertCompletedOnce, assertQueuesDrain, onOwnEngines, type ServiceProcess, startFailoverTask, storedChannels, waitFor } from './harness';

const CHANNELS = 2000;
const READY_MS = 120_000;

const engines = onOwnEngines('cluster', { broker: { ports: [5601, 5602, 5603], distBase: 25601, prefix: 'subpack-e2e-' } });

test('the node each service uses is killed, one after another, mid-task: they move on, every channel stored once, one completion', { timeout: 900_000 }, async (t) => {
  const s = engines.stack;
  const c = engines.broker;
  const urls = c.urls();
  // Each service starts on another node (its list begins there); the event tap's queue is a quorum queue of its own.
  // One at a time, each with a minute or two: the first declares the topology's quorum queues on every node. One
  // delivery at a time in the uploader keeps the task running through three kills and restarts.
  const rotated = (i: number): string => [...urls.slice(i), ...urls.slice(0, i)].join(',');
  const services = [
    await s.start('packer', { AMQP_URL: rotated(0), SUBPACK_BATCH_SIZE: '50' }, READY_MS),
    await s.start('uploader', { AMQP_URL: rotated(1), SUBPACK_PREFETCH: '1' }, READY_MS),
    await s.start('retry-scheduler', { AMQP_URL: rotated(2) }, READY_MS),
  ];
  const nodeOf = async (service: ServiceProcess): Promise<string> => {
    let node: string | undefined;
    await waitFor(`${service.label} connected`, async () => (node = await activeLabel(service, 'subpack_broker_node', 'node')) !== undefined, {
      timeoutMs: 60_000,
      detail: () => s.outputs(),
    });
    return node!;
  };
  const hosts = urls.map((url) => new URL(url).host);
  assert.deepEqual(await Promise.all(services.map(nodeOf)), hosts, 'each service starts on the first node of its list');

  const run = await startFailoverTask(s, CHANNELS, 50);
  for (const service of services) {
    const victim = await nodeOf(service);
    const before = storedChannels(run.tap.messages, run.taskId).size;
    assert.ok(before < CHANNELS, `the kill of ${victim}, ${service.label}'s node, must come mid-task (${before} of ${CHANNELS} stored)`);
    const node = c.nodeAt(victim);
    await node.kill();
    const killedAt = Date.now();
    // Every service on that node reconnects elsewhere by itself, and the work goes on.
    for (const other of services) {
      await waitFor(`${other.label} on another node than ${victim}`, async () => {
        const now = await activeLabel(other, 'subpack_broker_node', 'node');
        return now !== undefined && now !== victim;
      }, { timeoutMs: 120_000, detail: () => `${s.outputs()}\n${c.outputs()}` });
      assert.ok(other.running, `${other.label} survived the kill of ${victim}`);
    }
    await run.tap.waitFor(`progress after the kill of ${victim}`, (m) => storedChannels(m, run.taskId).size > before, 120_000, () => s.describe(run.tap));
    const movedMs = Date.now() - killedAt;
    // Back in the cluster before the next kill, so the quorum queues keep their majority.
    await c.restart(node);
    t.diagnostic(`${service.label}'s node ${victim} killed at ${before} of ${CHANNELS} stored; work went on within ${movedMs} ms; node back ${Date.now() - killedAt} ms after the kill`);
  }
  const log = services[0]!.stdout;
  assert.match(log, /RabbitMQ connection connected to 127\.0\.0\.1:560[23]/, 'the node now in use is logged');
  assert.doesNotMatch(log, /guest:guest/, 'without credentials');

  await assertCompletedOnce(s, run, 600_000);
  await assertQueuesDrain(s, run, c, 120_000);
  for (const service of services) assert.ok(service.running, `${service.label} still runs\n${service.outputTail()}`);
});
