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

test('status into a closed pipe ends quietly', async () => {
  const r = await runCli(['status', taskId], { env: { SUBPACK_REDIS_PREFIX: redis.prefix }, closedStdout: true });
  assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: EXIT_BROKEN_PIPE, stderr: '' });
});
