import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { TaskStore } from '@subpack/state';
import { EXIT_BROKEN_PIPE } from './main';
import { runCli } from './run-cli';

let redis: TestRedis;
const taskId = 'status-order';
// Stored out of order, with names that percent-encode in a URL.
const channels = ['xiaomi', '应用宝', 'Huawei Store', 'apple', 'oppo'];

before(async () => {
  redis = openTestRedis();
  const store = new TaskStore(redis.redis, { keyPrefix: redis.prefix });
  await store.createTask(taskId, { total: channels.length, batches: 1, master: 'file:///m/app.apk', target: 'file:///srv/out/' });
  for (const c of channels) {
    await store.markChannelStored(taskId, c, { url: new URL(`file:///srv/out/app-${c}.apk`).href, bytes: 1, md5: 'm', sha256: 's' });
  }
});

after(async () => redis.cleanup());

test('status lists channels in id order with readable paths; --json keeps the stored URLs in the same order', async () => {
  const env = { SUBPACK_REDIS_PREFIX: redis.prefix };
  const r = await runCli(['status', taskId], { env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('  '));
  const sorted = [...channels].sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(lines, sorted.map((c) => `  ${c}: stored /srv/out/app-${c}.apk`));
  const json = JSON.parse((await runCli(['status', taskId, '--json'], { env })).stdout) as { channels: Record<string, { url: string }> };
  assert.deepEqual(Object.keys(json.channels), sorted);
  assert.equal(json.channels['应用宝']?.url, 'file:///srv/out/app-%E5%BA%94%E7%94%A8%E5%AE%9D.apk');
});

test('object URLs show their keys decoded, kept channels are marked, and the order is the same on every run', async () => {
  const objects = 'status-object-urls';
  const store = new TaskStore(redis.redis, { keyPrefix: redis.prefix });
  await store.createTask(objects, { total: 3, batches: 1, master: 's3://rel/app.apk', target: 's3://rel/out/' });
  const url = (c: string): string => `s3://rel/out/app-${encodeURIComponent(c)}.apk`;
  for (const c of ['华为 应用市场', 'Oppo', 'apple']) {
    await store.markChannelStored(objects, c, { url: url(c), bytes: 1, md5: 'm', sha256: 's', ...(c === 'Oppo' ? { kept: true } : {}) });
  }
  const env = { SUBPACK_REDIS_PREFIX: redis.prefix };
  const runs = await Promise.all([runCli(['status', objects], { env }), runCli(['status', objects], { env })]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.equal(runs[0].stdout, runs[1].stdout);
  assert.deepEqual(runs[0].stdout.split('\n').filter((l) => l.startsWith('  ')), [
    '  Oppo: stored (kept) s3://rel/out/app-Oppo.apk',
    '  apple: stored s3://rel/out/app-apple.apk',
    '  华为 应用市场: stored s3://rel/out/app-华为 应用市场.apk',
  ]);
  assert.match(runs[0].stdout, /^channels: 3 stored \(2 written, 1 kept\), 0 failed, 3 total$/m);
});

test('status into a closed pipe ends quietly', async () => {
  const r = await runCli(['status', taskId], { env: { SUBPACK_REDIS_PREFIX: redis.prefix }, closedStdout: true });
  assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: EXIT_BROKEN_PIPE, stderr: '' });
});
