// npm run bench:ha: the 2,000-channel task of the small signed APK on a 3-node RabbitMQ cluster and Redis with
// Sentinel (engines of the benchmark's own: ports 5621-5623 and 26351-26363, started once), three runs side by side:
// no fault, the broker node the services use killed (SIGKILL) mid-task, and the Redis primary killed mid-task.
// Prints channels/s from publish to task.completed, and the time from each kill to the next stored channel.
import { RabbitCluster, RedisSentinelSet } from '@subpack/testing';
import { activeLabel, assertCompletedOnce, E2eStack, startFailoverTask, storedChannels, type ServiceProcess } from '@subpack/e2e';
import { fmt } from './measure';
import { NEEDS, preflight } from './preflight';

const CHANNELS = Number(process.env.SUBPACK_BENCH_CHANNELS ?? 2000);
/** Channels stored before the kill: the fault comes once the task runs at full speed. */
const KILL_AFTER = Math.min(200, Math.floor(CHANNELS / 4));

type Fault = 'none' | 'broker node' | 'Redis primary';

interface Result {
  fault: Fault;
  seconds: number;
  channelsPerSecond: number;
  /** Kill to the next channel.stored the event tap received, ms. */
  recoveryMs?: number;
}

async function runOnce(fault: Fault, cluster: RabbitCluster, redis: RedisSentinelSet): Promise<Result> {
  const stack = await E2eStack.create(`bench-ha-${fault.replace(/\W/g, '')}`, { amqpUrls: cluster.urls(), redisEnv: redis.env });
  try {
    const services: ServiceProcess[] = [];
    for (const [name, env] of [['packer', { SUBPACK_BATCH_SIZE: '50' }], ['uploader', {}], ['retry-scheduler', {}]] as const) services.push(await stack.start(name, env, 120_000));
    const started = Date.now();
    const run = await startFailoverTask(stack, CHANNELS, fault === 'none' ? 1 : KILL_AFTER);
    let recoveryMs: number | undefined;
    if (fault !== 'none') {
      const before = storedChannels(run.tap.messages, run.taskId).size;
      const killedAt = Date.now();
      if (fault === 'broker node') {
        const node = await activeLabel(services[0]!, 'subpack_broker_node', 'node');
        await cluster.nodeAt(node!).kill();
      } else {
        const node = await activeLabel(services[0]!, 'subpack_redis_node', 'node');
        await redis.nodeAt(Number(node!.split(':').at(-1))).kill();
      }
      await run.tap.waitFor('the next stored channel', (m) => storedChannels(m, run.taskId).size > before, 300_000, () => stack.describe(run.tap));
      const next = run.tap.messages.filter((m) => m.receivedAt >= killedAt && m.routingKey.includes('channel.stored'))[0];
      recoveryMs = (next?.receivedAt ?? Date.now()) - killedAt;
    }
    await assertCompletedOnce(stack, run, 1_200_000);
    const completed = run.tap.messages.find((m) => m.routingKey.includes('task.completed'));
    const seconds = ((completed?.receivedAt ?? Date.now()) - started) / 1000;
    return { fault, seconds, channelsPerSecond: CHANNELS / seconds, ...(recoveryMs !== undefined ? { recoveryMs } : {}) };
  } finally {
    await stack.cleanup();
  }
}

async function main(): Promise<void> {
  await preflight('bench:ha', [NEEDS.android, NEEDS.rabbitmq]);
  const [c, r] = await Promise.allSettled([
    RabbitCluster.start({ ports: [5621, 5622, 5623], distBase: 25621, prefix: 'subpack-bench-' }),
    RedisSentinelSet.start({ dataPorts: [26351, 26352], sentinelPorts: [26361, 26362, 26363], masterName: 'subpack-bench' }),
  ]);
  const cluster = c.status === 'fulfilled' ? c.value : undefined;
  const redis = r.status === 'fulfilled' ? r.value : undefined;
  const results: Result[] = [];
  try {
    if (!cluster || !redis) throw c.status === 'rejected' ? c.reason : (r as PromiseRejectedResult).reason;
    results.push(await runOnce('none', cluster, redis));
    results.push(await runOnce('broker node', cluster, redis));
    // The killed node rejoins before the next run, so each run starts with three nodes.
    for (const node of cluster.nodes) if (!node.running) await cluster.restart(node);
    results.push(await runOnce('Redis primary', cluster, redis));
  } finally {
    await Promise.all([cluster?.stop(), redis?.stop()]);
  }
  const base = results[0]!.channelsPerSecond;
  console.log(`\nbench:ha: ${CHANNELS} channels of the small signed APK; 3-node RabbitMQ, Redis primary + replica + 3 sentinels`);
  console.log('fault            seconds  channels/s  vs no fault  kill -> next stored channel');
  for (const x of results) {
    const recovery = x.recoveryMs === undefined ? '-' : `${fmt(x.recoveryMs / 1000, 2)} s`;
    console.log(`${x.fault.padEnd(16)} ${fmt(x.seconds, 1).padStart(7)}  ${fmt(x.channelsPerSecond, 1).padStart(10)}  ${fmt(x.channelsPerSecond / base, 2).padStart(11)}  ${recovery}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:ha failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
