// A 3-node RabbitMQ cluster of this file's own (ports 5601-5603, started once, all nodes booting in parallel): the
// services get all three URLs and all start on the first; that node, the one each of them is connected to, is killed
// with SIGKILL mid-task. The quorum queues keep their majority on the other two.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RabbitCluster } from '@subpack/testing';
import { activeLabel, assertCompletedOnce, assertQueuesDrain, E2eStack, startFailoverTask, storedChannels, waitFor } from './harness';

const CHANNELS = 2000;
const READY_MS = 120_000;

let cluster: RabbitCluster | undefined;
let stack: E2eStack | undefined;
before(async () => {
  cluster = await RabbitCluster.start({ ports: [5601, 5602, 5603], distBase: 25601, prefix: 'subpack-e2e-' });
  stack = await E2eStack.create('cluster', { amqpUrls: cluster.urls() });
});
after(async () => {
  try {
    await stack?.cleanup();
  } finally {
    await cluster?.stop();
  }
});

test('the node the services use dies mid-task: they move to another node, every channel stored once, one completion', { timeout: 900_000 }, async () => {
  const s = stack!;
  const c = cluster!;
  // The event tap uses the last node; the services start on the first (the list's order), so the kills spare the tap.
  // One at a time, each with a minute or two: the first declares the topology's quorum queues on every node.
  const services = [await s.start('packer', { SUBPACK_BATCH_SIZE: '50' }, READY_MS), await s.start('uploader', {}, READY_MS), await s.start('retry-scheduler', {}, READY_MS)];
  const nodeOf = async (i: number): Promise<string> => {
    let node: string | undefined;
    await waitFor(`${services[i]!.label} connected`, async () => (node = await activeLabel(services[i]!, 'subpack_broker_node', 'node')) !== undefined, {
      timeoutMs: 60_000,
      detail: () => s.outputs(),
    });
    return node!;
  };
  const first = await nodeOf(0);
  assert.deepEqual(await Promise.all(services.map((_, i) => nodeOf(i))), [first, first, first], 'every service starts on the first node of its list');

  const run = await startFailoverTask(s, CHANNELS, 50);
  const killAndFollow = async (victim: string): Promise<void> => {
    const before = storedChannels(run.tap.messages, run.taskId).size;
    assert.ok(before < CHANNELS, `the kill of ${victim} must come mid-task (${before} of ${CHANNELS} stored)`);
    await c.nodeAt(victim).kill();
    // Each service reconnects elsewhere by itself, and the work goes on.
    for (const [i, service] of services.entries()) {
      await waitFor(`${service.label} on another node than ${victim}`, async () => {
        const node = await activeLabel(service, 'subpack_broker_node', 'node');
        return node !== undefined && node !== victim;
      }, { timeoutMs: 120_000, detail: () => `${s.outputs()}\n${c.outputs()}` });
      assert.ok(service.running, `service ${i} survived`);
    }
    await run.tap.waitFor('progress after the kill', (m) => storedChannels(m, run.taskId).size > before, 120_000, () => s.describe(run.tap));
  };

  await killAndFollow(first);
  const log = services[0]!.stdout;
  assert.match(log, /RabbitMQ connection connected to 127\.0\.0\.1:560[23]/, 'the node now in use is logged');
  assert.doesNotMatch(log, /guest:guest/, 'without credentials');

  try { await assertCompletedOnce(s, run, 300_000); } finally { (await import('node:fs')).writeFileSync('/tmp/out48.log', s.outputs(50_000_000)); }
  await assertQueuesDrain(s, run, c, 120_000);
  for (const service of services) assert.ok(service.running, `${service.label} still runs\n${service.outputTail()}`);
});
