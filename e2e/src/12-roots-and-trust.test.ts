// A hostile publisher: targets and masters outside the roots, forged channel.store jobs, a task id reused for other
// content. Nothing is written outside the roots, nothing the uploader cannot derive itself, and a running task is
// never disturbed by someone else's message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, E2eStack, eventsFor, expectSignedForgeriesParked, fileTargetUrl, fileUrl, headerText, listTarget, packTask, parkedCopy, ServiceProcess, stackPerFile, uniqueTaskId, waitFor } from './harness';

const stack = stackPerFile('trust', {}, (s) => s.startPipeline());

test('targets and masters outside the roots are refused at acceptance, and nothing is created there', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const tap = await stack.eventTap();
  const outsideDir = await stack.outsideRoots();
  const escapedTarget = join(outsideDir, `escape-${randomBytes(3).toString('hex')}`);
  const outsideMaster = join(outsideDir, 'master.apk');
  await copyFile(master, outsideMaster);
  const inRoots = join(stack.workDir, 'out-roots');
  const cases = [
    { taskId: uniqueTaskId('etc'), master: fileUrl(master), target: 'file:///etc/subpack-probe/', what: 'target file:///etc/subpack-probe/' },
    { taskId: uniqueTaskId('sibling'), master: fileUrl(master), target: fileTargetUrl(`${stack.workDir}-sibling`), what: 'target' },
    { taskId: uniqueTaskId('outside'), master: fileUrl(master), target: fileTargetUrl(escapedTarget), what: 'target' },
    { taskId: uniqueTaskId('dotdot'), master: fileUrl(master), target: `${fileTargetUrl(inRoots)}%2e%2e/%2E%2E/%2e%2e/%2e%2e${escapedTarget}/`, what: 'target' },
    { taskId: uniqueTaskId('master'), master: fileUrl(outsideMaster), target: fileTargetUrl(inRoots), what: 'master' },
  ];
  for (const { what: _what, ...c } of cases) await stack.publishTask(packTask({ ...c, channels: channelIds(2) }));
  for (const c of cases) {
    const [failed] = await stack.waitForEvent(tap, c.taskId, 'task.failed', 30_000);
    const message = String((failed!.event.error as { message?: unknown }).message);
    assert.match(message, /is outside the allowed roots \(SUBPACK_(TARGET|MASTER)_ROOTS\)/, `${c.taskId}: ${message}`);
    assert.ok(message.includes(c.what), `${c.taskId}: the reason names the ${c.what}: ${message}`);
    assert.doesNotMatch(message, /does not exist|ENOENT|EACCES|not a directory/, 'the reason does not reveal whether the path exists');
  }
  assert.equal(existsSync(escapedTarget), false, 'no directory was created outside the roots');
  assert.equal(existsSync('/etc/subpack-probe'), false);
  assert.equal(existsSync(inRoots), false, 'the task with a master outside the roots wrote nothing either');
  assert.equal(eventsFor(tap.messages, cases[0]!.taskId, 'channel.stored').length, 0);
});

test('forged channel.store jobs are parked before a byte is written; a known task is not disturbed', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('forged');
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const { taskId } = await stack.runTask(tap, { label: 'known', master, target: targetDir, channels: channelIds(3) }, 60_000);
  const before = await stack.status(taskId);

  const evilPath = join(await stack.outsideRoots(), 'evil');
  const oldStyle = {
    taskId,
    channel: 'evil',
    master: fileUrl(master),
    masterSha256: '0'.repeat(64),
    prefixLength: 0,
    tail: Buffer.from('#!/bin/sh\necho owned\n').toString('base64'),
    bytes: 21,
    md5: '0'.repeat(32),
    sha256: '0'.repeat(64),
    fileName: 'evil.sh',
    target: fileTargetUrl(evilPath),
    batchIndex: 0,
  };
  const jobs = [
    { name: 'a job carrying its own bytes and target', body: oldStyle, reason: /invalid channel store job: .*unknown field "tail"/ },
    { name: 'a channel the task does not have', body: { taskId, channel: 'extra-channel', batchIndex: 0 }, reason: /"extra-channel" is not part of task/ },
    {
      name: 'a channel of the task with a digest the master cannot produce',
      body: { taskId, channel: 'ch-1', batchIndex: 0, sha256: 'f'.repeat(64) },
      reason: /changed since the task was planned/,
    },
  ];
  // Signed with the services' key: even a holder of the key cannot make the uploader write what it does not derive.
  await expectSignedForgeriesParked(stack, { tap, parked }, 'channel.store', jobs, 'jobs');
  assert.equal(existsSync(evilPath), false, 'nothing was written where the forged job said');
  assert.equal((await listTarget(targetDir)).length, 3, 'the target holds the three channels of the task and nothing else');
  const afterwards = await stack.status(taskId);
  assert.deepEqual([afterwards.status, afterwards.total, afterwards.done, afterwards.failed], [before.status, 3, 3, 0], 'the known task is untouched');
  assert.equal(eventsFor(tap.messages, taskId, 'channel.failed').length, 0, 'no channel of the task was failed by a forged job');
});

test('a task id reused for different content is refused and the running task completes as it was', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('reuse');
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const taskId = uniqueTaskId('reuse');
  const original = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(20) });
  const bigger = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(40) });
  const invalid = { ...original, channels: [{ id: '../evil' }] };
  await stack.publishTask(original);
  await stack.waitForEvent(tap, taskId, 'task.accepted', 30_000);
  await stack.publishTask(bigger);
  await stack.publishTask(invalid);
  await stack.publishTask({ ...original, submittedAt: new Date().toISOString() });
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
  await parked.waitFor('the two foreign sends parked', (m) => m.length >= 2, 30_000, () => stack.describe(tap));
  const reused = parkedCopy(parked, bigger);
  assert.ok(reused, 'the resend with other channels is parked');
  assert.match(headerText(reused, 'x-subpack-error'), /task id "[^"]+" already used for different content/);
  assert.deepEqual([completed!.event.status, completed!.event.total, completed!.event.done], ['done', 20, 20], JSON.stringify(completed!.event));
  assert.equal(eventsFor(tap.messages, taskId, 'task.failed').length, 0, 'neither foreign send failed the running task');
  assert.equal((await listTarget(targetDir)).length, 20);
  const status = await stack.status(taskId);
  assert.deepEqual([status.status, status.total, status.done], ['done', 20, 20]);
});

test('a parked job of a task whose state is lost says so, and resending the task completes it', { timeout: 180_000 }, async () => {
  const lost = await E2eStack.create('lost');
  try {
    const master = await standardApk('v1v2v3');
    const targetDir = await lost.makeDir('out');
    const packer = (await lost.startPipeline({ uploaders: 0 })).packers[0]!;
    const tap = await lost.eventTap();
    const taskId = uniqueTaskId('lost');
    const task = packTask({ taskId, master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(4) });
    await lost.publishTask(task);
    await waitFor('the batch planned', () => packer.outputTail(1_000_000).includes('batch planned'), { timeoutMs: 30_000 });
    assert.equal(await lost.queueMessageCount('subpack.uploader.store'), 4, 'the jobs wait for an uploader');
    // What a Redis without persistence looks like after a restart: this stack's keys are gone.
    await lost.flushState();
    await lost.start('uploader');
    const [failed] = await lost.waitForEvent(tap, taskId, 'task.failed', 60_000);
    const error = failed!.event.error as { code: string; message: string };
    assert.equal(error.code, 'STATE_LOST');
    assert.match(error.message, /state of task .* is gone from Redis.*resend the same task/);
    await lost.publishTask(task);
    const [completed] = await lost.waitForEvent(tap, taskId, 'task.completed', 60_000);
    assert.deepEqual([completed!.event.status, completed!.event.done], ['done', 4]);
    assert.equal((await listTarget(targetDir)).length, 4);
    assert.equal(eventsFor(tap.messages, taskId, 'task.failed').length, 1, 'one report however many jobs were parked');
  } finally {
    await lost.cleanup();
  }
});

test('the packer and the uploader refuse to start without storage roots', { timeout: 60_000 }, async () => {
  for (const name of ['packer', 'uploader'] as const) {
    const service = await ServiceProcess.spawn(name, { label: `${name}-no-roots`, env: { ...stack.env, SUBPACK_TARGET_ROOTS: 'file:///srv/out' } });
    const status = await service.exited;
    assert.equal(status.code, 78, `${name} exits with EX_CONFIG\n${service.outputTail()}`);
    assert.match(service.outputTail(), /SUBPACK_MASTER_ROOTS is required \(a comma-separated list of URL prefixes/);
    assert.doesNotMatch(service.outputTail(), /\n\s+at /, 'no stack trace');
  }
});
