// Two packers, one uploader and one retry-scheduler as separate processes pack one 50-channel task end to end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, eventsFor, listTarget, stackPerFile, storedBytes, storedChannels, storedFiles, type ServiceProcess } from './harness';

const stack = stackPerFile('happy');

const CHANNELS = 50;
const BATCH_SIZE = 10;

/** Whether the packer handled a batch of the task, by its metrics or its JSON logs; `evidence` says what was seen. */
async function batchesHandled(packer: ServiceProcess, taskId: string): Promise<{ handled: boolean; evidence: string }> {
  const metric = await packer.metricTotal('subpack_batches_total').catch(() => undefined);
  const batchLogs = packer
    .logRecords()
    .filter((r) => r.taskId === taskId && ('batch' in r || 'batchIndex' in r || (typeof r.msg === 'string' && /batch/i.test(r.msg))));
  return {
    handled: (metric ?? 0) > 0 || batchLogs.length > 0,
    evidence: `${packer.label}: subpack_batches_total=${metric ?? 'absent'}, log lines with taskId+batch: ${batchLogs.length}`,
  };
}

test('a 50-channel task over 2 packers lands 50 verified channel APKs, one completion', { timeout: 180_000 }, async (t) => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('target');
  const { packers } = await stack.startPipeline({ packers: 2, packer: { SUBPACK_BATCH_SIZE: String(BATCH_SIZE) } });
  const tap = await stack.eventTap();

  const channels = channelIds(CHANNELS);
  const { taskId, completed } = await stack.runTask(tap, { label: 'happy', master, target: targetDir, channels }, 120_000);
  await delay(1000); // a duplicate completion or a late channel event would arrive now
  const completedEvents = eventsFor(tap.messages, taskId, 'task.completed');
  assert.equal(completedEvents.length, 1, `exactly one task.completed, got ${completedEvents.length}`);
  assert.equal(completed.event.status, 'done');
  assert.equal(completed.event.total, CHANNELS);
  assert.equal(completed.event.done, CHANNELS);
  assert.equal(completed.event.failed, 0);
  assert.equal(eventsFor(tap.messages, taskId, 'task.accepted').length, 1, 'one task.accepted event');

  const stored = storedChannels(tap.messages, taskId);
  assert.deepEqual([...stored].sort(), channels, 'a channel.stored event for each of the 50 channels');
  assert.equal(eventsFor(tap.messages, taskId, 'channel.failed').length, 0, 'no channel.failed event');

  // The target holds exactly the 50 files the events name, with the sizes they announce.
  const files = storedFiles(tap.messages, taskId);
  const listing = await listTarget(targetDir);
  const leftovers = listing.filter((f) => !files.has(f.file)).map((f) => f.file);
  const missing = [...files.keys()].filter((f) => !listing.some((l) => l.file === f));
  assert.deepEqual({ leftovers, missing }, { leftovers: [], missing: [] }, 'target holds exactly the announced files');
  assert.equal(listing.length, CHANNELS);
  const bytesByFile = storedBytes(tap.messages, taskId);
  for (const f of listing) assert.equal(bytesByFile.get(f.file), f.bytes, `${f.file} size matches its channel.stored event`);
  assert.deepEqual(await checkChannelApks(files), [], 'every APK verifies and carries its channel');

  const status = await stack.status(taskId);
  assert.equal(status.status, 'done', `status: ${JSON.stringify(status)}`);
  assert.equal(status.done, CHANNELS, `status: ${JSON.stringify(status)}`);

  const handled = await Promise.all(packers.map((packer) => batchesHandled(packer, taskId)));
  assert.ok(
    handled.every((h) => h.handled),
    `each packer process handled at least one batch:\n${handled.map((h) => h.evidence).join('\n')}`,
  );

  t.diagnostic(`${eventsFor(tap.messages, taskId, 'channel.stored').length} channel.stored events; ${handled.map((h) => h.evidence).join('; ')}`);
  const exits = await stack.stopAll();
  for (const [label, exit] of exits) assert.equal(exit.code, 0, `${label} exits 0 on SIGTERM (got ${exit.code ?? exit.signal})\n${stack.outputs()}`);
});
