// `subpack cancel` on the real stack: a 400-channel task is cancelled while its channels are being written. It ends
// cancelled with one task.cancelled and no task.completed; the channels stored before the cancel stay in the target
// and verify, and nothing in the target is created or changed after the command returned. A second cancel is
// harmless, and an unknown or finished task is refused.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, stackPerFile, subpack } from './harness';

const stack = stackPerFile('cancel', { retryTiers: '1s', maxAttempts: 2 });

const CHANNELS = 400;

/** Every file under `dir` (relative path -> size and mtime), so any file created, removed or rewritten shows. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    files.set(relative(dir, path), `${s.size}@${s.mtimeMs}`);
  }
  return files;
}

test('a task cancelled mid-way stops writing, keeps its stored channels and is announced once', { timeout: 240_000 }, async () => {
  const master = await standardApk('v2Only');
  const target = await stack.makeDir('target');
  await stack.startPipeline({ packer: { SUBPACK_BATCH_SIZE: '5' } });
  const tap = await stack.eventTap();
  const taskId = await stack.sendTask({ label: 'cancel', master, target, channels: channelIds(CHANNELS), naming: '{channel}.apk' });
  // Early, so few APKs are left to verify; any number stored proves the point.
  await tap.waitFor('5 channels stored', (m) => eventsFor(m, taskId, 'channel.stored').length >= 5, 120_000, () => stack.describe(tap));

  const r = await subpack(['cancel', taskId, '--by', 'e2e-operator', '--reason', 'wrong build'], stack.env);
  assert.equal(r.code, 0, r.stderr);
  const line = new RegExp(`^${taskId}: cancelled, (\\d+) stored, 0 failed of ${CHANNELS}\\n$`).exec(r.stdout);
  assert.ok(line, `one line: ${JSON.stringify(r.stdout)}`);
  const stored = Number(line[1]);
  assert.ok(stored >= 5 && stored < CHANNELS, `cancelled part-way: ${stored} stored`);

  // Whatever was under way finished before the command returned: the target no longer changes.
  await delay(3000);
  const first = await snapshot(target);
  await delay(6000);
  const second = await snapshot(target);
  assert.deepEqual(second, first, 'nothing in the target was created or modified after the cancel');
  assert.equal(first.size, stored, `every file is a stored channel: ${first.size} files, ${stored} stored`);

  const status = await stack.status(taskId);
  assert.deepEqual({ status: status.status, done: status.done, failed: status.failed }, { status: 'cancelled', done: stored, failed: 0 });
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 0, 'a cancelled task never completes');
  const cancelled = eventsFor(tap.messages, taskId, 'task.cancelled');
  assert.equal(cancelled.length, 1, 'exactly one task.cancelled');
  const { at: _at, ...event } = cancelled[0]!.event;
  assert.deepEqual(event, { type: 'task.cancelled', taskId, total: CHANNELS, done: stored, failed: 0, cancelledBy: 'e2e-operator' });
  assert.equal(cancelled[0]!.messageId, `task.cancelled:${taskId}`);

  // Every stored channel was announced, is in the target and verifies.
  const announced = new Map(eventsFor(tap.messages, taskId, 'channel.stored').map((e) => [fileURLToPath(String(e.event.url)), String(e.event.channel)]));
  assert.equal(announced.size, stored);
  assert.deepEqual([...announced.keys()].map((file) => relative(target, file)).sort(), [...first.keys()].sort());
  assert.deepEqual(await checkChannelApks(announced), []);

  const shown = await subpack(['status', taskId], stack.env);
  assert.match(shown.stdout, /^status: {3}cancelled$/m);
  assert.match(shown.stdout, /^cancelled: \S+ by e2e-operator: wrong build$/m);

  // A second cancel says so and changes nothing.
  const again = await subpack(['cancel', taskId], stack.env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `${taskId}: cancelled, ${stored} stored, 0 failed of ${CHANNELS}\n`);
  assert.match(again.stderr, /was already cancelled/);
  await delay(1500);
  assert.equal(eventsFor(tap.messages, taskId, 'task.cancelled').length, 1, 'a second cancel announces nothing');
  assert.deepEqual(await snapshot(target), first);
});

test('an unknown or finished task is refused with the reason and exit 1', { timeout: 120_000 }, async () => {
  const unknown = await subpack(['cancel', 'e2e-never-sent'], stack.env);
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, /^subpack: no task "e2e-never-sent" \(never submitted, or expired after finishing\)\n$/);

  const tap = await stack.eventTap();
  const { taskId } = await stack.runTask(tap, { label: 'done', master: await standardApk('v2Only'), target: await stack.makeDir('done'), channels: channelIds(3) }, 90_000);
  const finished = await subpack(['cancel', taskId], stack.env);
  assert.equal(finished.code, 1, finished.stderr);
  assert.equal(finished.stderr, `subpack: task "${taskId}" already finished done; nothing to cancel\n`);
  assert.equal((await stack.status(taskId)).status, 'done');
  await delay(1000);
  assert.equal(eventsFor(tap.messages, taskId, 'task.cancelled').length, 0);
});
