// The two other ways in: a legacy publisher pushing onto a Redis list (through list-bridge), and `subpack submit --wait`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, eventsFor, fileTargetUrl, fileUrl, listTarget, packTask, stackPerFile, subpack, uniqueTaskId } from './harness';

const stack = stackPerFile('bridge');

test('a task pushed onto the Redis list is bridged to the broker and completes; the lists end empty', { timeout: 120_000 }, async () => {
  const listKey = `${stack.redisPrefix}legacy-tasks`;
  await Promise.all([stack.start('packer'), stack.start('uploader'), stack.start('list-bridge', { SUBPACK_LIST_KEY: listKey })]);
  const tap = await stack.eventTap();
  const master = await standardApk('v1v2v3');
  const out = join(stack.workDir, 'bridged');
  const taskId = uniqueTaskId('bridge');
  const redis = new Redis(stack.env.REDIS_URL!);
  try {
    await redis.lpush(listKey, JSON.stringify(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(out), channels: channelIds(5) })));
    await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
    assert.equal(await redis.llen(listKey), 0, 'the source list is drained');
    assert.equal(await redis.llen(`${listKey}:processing`), 0, 'nothing is left in the processing list');
  } finally {
    redis.disconnect();
  }
  const files = await listTarget(out);
  assert.equal(files.length, 5);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1);
});

test('subpack submit --wait publishes a task file, shows it through to done, and exits 0', { timeout: 120_000 }, async () => {
  if (!stack.services.some((s) => s.name === 'packer')) await Promise.all([stack.start('packer'), stack.start('uploader')]);
  const master = await standardApk('chinese');
  const out = join(stack.workDir, 'submitted');
  const taskId = uniqueTaskId('submit');
  const file = join(stack.workDir, 'task.json');
  await writeFile(file, JSON.stringify(packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(out), channels: ['huawei', '应用宝'] })));
  const r = await subpack(['submit', file, '--wait', '--timeout', '90'], stack.env);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`${taskId}: done, 2 stored, 0 failed`));
  const files = await listTarget(out);
  const expected = new Map(files.map((f) => [f.file, f.file.includes('huawei') ? 'huawei' : '应用宝']));
  assert.equal(expected.size, 2);
  assert.deepEqual(await checkChannelApks(expected), []);

  const bad = join(stack.workDir, 'bad.json');
  await writeFile(bad, JSON.stringify({ taskId, master: fileUrl(master), channels: [{ id: 'a/b' }] }));
  const refused = await subpack(['submit', bad], stack.env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /target/);
  assert.match(refused.stderr, /channels\[0\]\.id/);
});
