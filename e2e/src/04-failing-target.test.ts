// A target that fails for a while: channel writes go through the retry tiers with backoff, then the task completes.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, eventsFor, headerNumber, headerText, listTarget, type SpiedMessage, stackPerFile, storedChannels, storedFiles } from './harness';

const TIERS = ['1s', '2s'];
const TIER_MS: Record<string, number> = { '1s': 1000, '2s': 2000 };

const stack = stackPerFile('badtarget', { retryTiers: TIERS.join(','), maxAttempts: 20 });

const isStoreJob = (m: SpiedMessage): boolean => m.headers['x-subpack-origin-queue'] === 'subpack.uploader.store';
const channelOf = (m: SpiedMessage): string | undefined => (m.json as { channel?: string } | undefined)?.channel;
const attemptOf = (m: SpiedMessage): number => headerNumber(m, 'x-subpack-attempt');

test('writes to a broken target are retried with backoff and the task completes once it is fixed', { timeout: 150_000 }, async (t) => {
  const master = await standardApk('v1v2v3');
  // root ignores permissions, so the target is broken by making its path a regular file: every write fails (ENOTDIR).
  const targetDir = join(stack.workDir, 'target');
  await writeFile(targetDir, 'not a directory\n');
  await stack.startPipeline();
  const tap = await stack.eventTap();
  const retried = await stack.retrySpy();
  const redelivered = await stack.redeliverySpy();

  const channels = channelIds(10);
  const taskId = await stack.sendTask({ label: 'badtarget', master, target: targetDir, channels });

  // Some channel must have failed, gone to a tier, and come back to the uploader (failed again) before the fix.
  await redelivered.waitFor('a channel job back from a retry tier', (m) => m.some(isStoreJob), 60_000, () => stack.describe(tap));
  assert.equal(storedChannels(tap.messages, taskId).size, 0, 'nothing could be stored while the target is a file');
  await rm(targetDir);
  // A retried job may create the directory itself between these two calls.
  await mkdir(targetDir, { recursive: true });

  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 90_000);
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.equal(completed!.event.done, channels.length);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'one task.completed event');
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), channels);
  const files = storedFiles(tap.messages, taskId);
  assert.equal((await listTarget(targetDir)).length, channels.length, 'one file per channel, nothing else');
  assert.deepEqual(await checkChannelApks(files), []);

  // Backoff: each tier matches the attempt (attempt n -> tier n, the last tier repeating), and a job came back no
  // sooner than its tier's delay.
  const storeRetries = retried.messages.filter(isStoreJob);
  assert.ok(storeRetries.length > 0, 'channel jobs went through a retry tier');
  for (const m of storeRetries) {
    const attempt = attemptOf(m);
    assert.ok(attempt >= 1, `x-subpack-attempt is a positive integer: ${headerText(m, 'x-subpack-attempt')}`);
    const expectedTier = TIERS[Math.min(attempt, TIERS.length) - 1];
    assert.equal(m.headers['x-subpack-tier'], expectedTier, `attempt ${attempt} of ${channelOf(m)} waits in tier ${expectedTier}`);
    assert.match(headerText(m, 'x-subpack-error'), /\S/, 'the retried job carries the error');
    assert.equal(m.headers['x-subpack-error-class'], 'transient');
  }
  const delays: string[] = [];
  for (const back of redelivered.messages.filter(isStoreJob)) {
    const sent = storeRetries.find((m) => channelOf(m) === channelOf(back) && attemptOf(m) === attemptOf(back));
    if (!sent) continue;
    const tier = String(sent.headers['x-subpack-tier']);
    const waited = back.receivedAt - sent.receivedAt;
    assert.ok(waited >= (TIER_MS[tier] ?? 0) - 150, `${channelOf(back)} attempt ${attemptOf(back)} came back after ${waited} ms, tier ${tier}`);
    delays.push(`${channelOf(back)}#${attemptOf(back)}:${tier}=${waited}ms`);
  }
  assert.ok(delays.length > 0, 'at least one retry was timed from tier to redelivery');
  t.diagnostic(`${storeRetries.length} channel retries, highest attempt ${Math.max(...storeRetries.map(attemptOf))}; ${delays.slice(0, 6).join(' ')}`);
});
