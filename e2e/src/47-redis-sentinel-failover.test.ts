// Redis with Sentinel, on this file's own engines (a primary, a replica and three sentinels on ports 26301-26313,
// started once): what an asynchronous replica can lose, what WAIT keeps, and a task that goes on while its primary is
// killed and comes back as a replica.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ReplicationError, TaskStore } from '@subpack/state';
import { EngineNode, makeTempDir } from '@subpack/testing';
import { activeLabel, assertCompletedOnce, CLI_BIN, onOwnEngines, REPO_ROOT, ServiceProcess, startFailoverTask, storedChannels, subpack, waitFor } from './harness';

const CHANNELS = 2000;
const READY_MS = 120_000;
const MASTER = 'subpack-e2e';

const engines = onOwnEngines('sentinel', { redis: { dataPorts: [26301, 26302], sentinelPorts: [26311, 26312, 26313], masterName: MASTER } });

test('a service given both REDIS_URL and REDIS_SENTINELS refuses to start, naming both (exit 78)', { timeout: 60_000 }, async () => {
  const service = await ServiceProcess.spawn('retry-scheduler', { label: 'both-redis', env: { ...engines.stack.env, REDIS_URL: 'redis://127.0.0.1:6379' } });
  const status = await service.exited;
  assert.equal(status.code, 78, service.outputTail());
  assert.match(service.outputTail(), /REDIS_URL and REDIS_SENTINELS are both set/);
});

test('an acknowledged claim is lost when the primary dies before its replica has it; WAIT acknowledges only what a replica holds', { timeout: 120_000 }, async () => {
  // A pair of its own, so the failover set above stays as it is.
  const dir = await makeTempDir('subpack-e2e-wait-');
  const args = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const primary = new EngineNode('primary', 26321, 'redis-server', args(26321));
  const replica = new EngineNode('replica', 26322, 'redis-server', [...args(26322), '--replicaof', '127.0.0.1', '26321']);
  const clients: Redis[] = [];
  try {
    await primary.start();
    await replica.start();
    await Promise.all([primary.waitListening(30_000), replica.waitListening(30_000)]);
    const toPrimary = new Redis({ port: 26321, maxRetriesPerRequest: 0, lazyConnect: true });
    const toReplica = new Redis({ port: 26322, maxRetriesPerRequest: 1, lazyConnect: true });
    clients.push(toPrimary, toReplica);
    await Promise.all([toPrimary.connect(), toReplica.connect()]);
    await waitFor('the replica in sync', async () => (await toReplica.info('replication')).includes('master_link_status:up'), { timeoutMs: 30_000 });

    const withWait = new TaskStore(toPrimary, { keyPrefix: 'w:', replicas: 1 });
    const without = new TaskStore(toPrimary, { keyPrefix: 'n:' });
    assert.equal(await withWait.once('claim', 60), true, 'with the replica answering, WAIT confirms at once');

    // The replica falls behind (stopped, its link still up): WAIT does not call a write done.
    replica.signal('SIGSTOP');
    await assert.rejects(withWait.once('claim-2', 60), ReplicationError, 'WAIT refuses to call it done');
    // Its link drops: the primary still acknowledges plain writes, which now exist on the primary alone.
    await toPrimary.call('CLIENT', 'KILL', 'TYPE', 'replica');
    assert.equal(await without.once('claim', 60), true, 'acknowledged without a replica having it');
    await primary.kill();
    replica.signal('SIGCONT');
    await toReplica.call('REPLICAOF', 'NO', 'ONE'); // what the sentinels do on failover
    assert.equal(await toReplica.exists('w:once:claim'), 1, 'what WAIT confirmed survives the failover');
    assert.equal(await toReplica.exists('n:once:claim'), 0, 'the acknowledged claim without WAIT is gone: a second claimant would win too');
  } finally {
    for (const client of clients) client.disconnect();
    replica.signal('SIGCONT');
    await Promise.all([primary.kill(), replica.kill()]);
  }
});

test('the primary dies mid-task and comes back as a replica: every channel stored once, one completion, status and submit --wait throughout', { timeout: 600_000 }, async () => {
  const s = engines.stack;
  const r = engines.redis;
  // One at a time, each with a minute or two: the first declares the topology's quorum queues on every node.
  const services = [await s.start('packer', { SUBPACK_BATCH_SIZE: '50' }, READY_MS), await s.start('uploader', {}, READY_MS), await s.start('retry-scheduler', {}, READY_MS)];
  const primaryOf = (service: ServiceProcess): Promise<string | undefined> => activeLabel(service, 'subpack_redis_node', 'node');
  const [firstPrimary] = await Promise.all(services.map(primaryOf));
  assert.equal(firstPrimary, '127.0.0.1:26301');

  const run = await startFailoverTask(s, CHANNELS, 50);
  const storedAtKill = storedChannels(run.tap.messages, run.taskId).size;
  assert.ok(storedAtKill < CHANNELS, `the kill must come mid-task (${storedAtKill} stored)`);
  // An operator following the task: the same task sent again (one message id, so no second run) and waited for.
  const taskFile = join(s.workDir, `${run.taskId}.json`);
  await writeFile(taskFile, JSON.stringify(run.task));
  const waiting = spawn(process.execPath, [CLI_BIN, 'submit', taskFile, '--wait', '--timeout', '540'], { env: { ...process.env, ...s.env }, cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let waitLog = '';
    waiting.stderr.on('data', (d: Buffer) => (waitLog += d.toString()));
    const waited = new Promise<number | null>((resolve) => waiting.on('exit', (code) => resolve(code)));
    // Killed while the wait polls the primary (its connection is named subpack-cli), not while it connects.
    const primary = new Redis({ host: '127.0.0.1', port: 26301, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await waitFor('submit --wait polling the primary', async () => waitLog.includes(`submitted ${run.taskId}`) && String(await primary.call('CLIENT', 'LIST')).includes('name=subpack-cli'), { timeoutMs: 30_000, detail: () => waitLog });
    } finally {
      primary.disconnect();
    }
    await r.nodeAt(26301).kill();

    // The sentinels promote the replica; the CLI finds it through them while the task still runs.
    let during: { status?: string } | undefined;
    await waitFor('subpack status through the new primary', async () => {
      const result = await subpack(['status', run.taskId, '--json'], s.env);
      if (result.code === 0) during = JSON.parse(result.stdout) as { status?: string };
      return result.code === 0;
    }, { timeoutMs: 90_000, detail: () => r.outputs() });
    assert.ok(during !== undefined && ['running', 'done'].includes(during.status ?? ''), JSON.stringify(during));
    for (const service of services) {
      await waitFor(`${service.label} on the new primary`, async () => (await primaryOf(service)) === '127.0.0.1:26302', { timeoutMs: 90_000, detail: () => s.outputs() });
    }

    await r.restartAsReplica(r.nodeAt(26301), 26302);
    await assertCompletedOnce(s, run, 600_000);
    for (const service of services) assert.ok(service.running, `${service.label} survived\n${service.outputTail()}`);
    const after = await subpack(['status', run.taskId, '--json'], s.env);
    assert.equal(after.code, 0, after.stderr);
    // The wait lost its Redis with the primary, said so, connected again through the sentinels and saw the task done.
    assert.equal(await waited, 0, waitLog);
    assert.match(waitLog, /goes on in the services, waiting for Redis/);
    assert.match(waitLog, /Redis answers again/);
    assert.match(waitLog, new RegExp(`${run.taskId}: done, ${CHANNELS} stored, 0 failed`));
  } finally {
    if (waiting.exitCode === null && waiting.signalCode === null) waiting.kill('SIGKILL');
  }
});
