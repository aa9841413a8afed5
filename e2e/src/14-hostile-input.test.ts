// Input that used to slip through: an unsigned master, and reasons that echo hostile characters.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { unsignedApk } from '@subpack/testing';
import { channelIds, fileTargetUrl, fileUrl, headerText, packTask, stackPerFile, uniqueTaskId } from './harness';

const RLO = '\u202E';

const stack = stackPerFile('hostile', {}, (s) => s.startPipeline());

test('an unsigned master is refused at acceptance with a reason that says what to do', { timeout: 60_000 }, async () => {
  const master = join(stack.workDir, 'unsigned.apk');
  await copyFile(await unsignedApk(), master);
  const targetDir = join(stack.workDir, 'unsigned-out');
  const tap = await stack.eventTap();
  const taskId = await stack.sendTask({ label: 'unsigned', master, target: targetDir, channels: channelIds(2) });
  const [failed] = await stack.waitForEvent(tap, taskId, 'task.failed', 30_000);
  assert.match(String((failed!.event.error as { message?: unknown }).message), /not signed: sign the APK before writing channels/);
  assert.equal(existsSync(targetDir), false, 'nothing was written');
});

test('reasons and log lines show bidi overrides and control characters escaped, never raw', { timeout: 60_000 }, async () => {
  const targetDir = join(stack.workDir, 'rlo-out');
  await mkdir(targetDir);
  const parked = await stack.parkedSpy();
  const taskId = uniqueTaskId('rlo');
  const hostile = { ...packTask({ taskId, master: fileUrl(join(stack.workDir, 'x.apk')), target: fileTargetUrl(targetDir), channels: ['a'] }), [`evil${RLO}kpa.exe`]: 1 };
  await stack.publishTask(hostile);
  await parked.waitFor('the hostile task parked', (m) => m.length >= 1, 30_000, () => stack.describe());
  const reason = headerText(parked.messages[0]!, 'x-subpack-error');
  assert.match(reason, /unknown field .*evil<U\+202E>kpa\.exe/);
  assert.ok(!reason.includes(RLO), 'no raw U+202E in the parked reason');
  for (const service of stack.services) assert.ok(!service.outputTail(1_000_000).includes(RLO), `${service.label} logged a raw U+202E`);
  assert.ok(stack.outputs(1_000_000).includes('evil<U+202E>kpa.exe'), 'the logs show the escaped name');
});
