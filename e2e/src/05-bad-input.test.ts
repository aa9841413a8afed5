// Bad task bodies, and storage this deployment cannot serve, are parked at once with a reason that names the problem;
// the packer keeps serving good tasks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, fileTargetUrl, fileUrl, headerNumber, headerText, listTarget, packTask, stackPerFile, uniqueTaskId } from './harness';

const stack = stackPerFile('badinput');

test('malformed and schema-invalid tasks are parked with readable reasons; a valid task still completes', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('target');
  const packer = (await stack.startPipeline()).packers[0]!;
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const retried = await stack.retrySpy();

  const valid = (label: string): Record<string, unknown> =>
    packTask({ taskId: uniqueTaskId(label), master: fileUrl(master), target: fileTargetUrl(targetDir), channels: channelIds(3) });
  const noTarget = valid('notarget');
  delete noTarget.target;
  const escaping = { ...valid('escape'), channels: [{ id: 'ok-1' }, { id: '../x' }] };
  // Valid by the contract, but not served by this deployment (no OSS keys or region are configured): refused when
  // accepted, not retried through every tier.
  const ossTarget: Record<string, unknown> = { ...valid('osstarget'), target: 'oss://bucket/out/' };
  const ossMaster: Record<string, unknown> = { ...valid('ossmaster'), master: 'oss://bucket/app.apk' };
  // An encoded slash in the target's path: refused when accepted, the same way.
  const slashTarget: Record<string, unknown> = { ...valid('slashtarget'), target: `${fileTargetUrl(targetDir)}sub%2Fdir/` };
  const slashKey: Record<string, unknown> = { ...valid('slashkey'), target: 's3://bucket/out%2fsub/' };
  const cases = [
    { name: 'malformed JSON', body: Buffer.from('{"taskId": "broken", "channels": ['), reason: /not valid JSON/i },
    { name: 'missing target', body: Buffer.from(JSON.stringify(noTarget)), reason: /\btarget\b.*required|required.*\btarget\b/i },
    { name: 'channel id "../x"', body: Buffer.from(JSON.stringify(escaping)), reason: /channels\[1\]\.id|channels\/1\/id/ },
    { name: 'oss:// target', body: Buffer.from(JSON.stringify(ossTarget)), reason: /^target: oss:\/\/ is not served by this deployment \(it serves file:\/\/, s3:\/\/\)/ },
    { name: 'oss:// master', body: Buffer.from(JSON.stringify(ossMaster)), reason: /^master: oss:\/\/ is not served by this deployment/ },
    { name: '%2F in a file target', body: Buffer.from(JSON.stringify(slashTarget)), reason: /^target: file:\/\/.*sub%2Fdir\/ contains an encoded slash \(%2F\)/ },
    { name: '%2f in an s3 target', body: Buffer.from(JSON.stringify(slashKey)), reason: /^target: s3:\/\/bucket\/out%2fsub\/ contains an encoded slash \(%2F\)/ },
  ];
  for (const c of cases) await stack.publishRawTask(c.body);

  await parked.waitFor(`${cases.length} parked messages`, (m) => m.length >= cases.length, 30_000, () => stack.describe(tap));
  for (const c of cases) {
    const message = parked.messages.find((m) => m.body.equals(c.body));
    assert.ok(message, `${c.name} is parked with its body unchanged`);
    const reason = headerText(message, 'x-subpack-error');
    assert.match(reason, c.reason, `${c.name}: the reason names the problem: ${JSON.stringify(reason)}`);
    assert.equal(headerNumber(message, 'x-subpack-attempt'), 1, `${c.name}: parked on the first failure`);
    assert.equal(message.headers['x-subpack-error-class'], 'permanent', `${c.name}: bad input is permanent`);
  }
  assert.equal(retried.messages.length, 0, 'bad input is never retried');
  for (const [task, reason] of [[ossTarget, /is not served by this deployment/], [ossMaster, /is not served by this deployment/], [slashTarget, /encoded slash/], [slashKey, /encoded slash/]] as const) {
    const [failed] = await stack.waitForEvent(tap, task.taskId as string, 'task.failed', 30_000);
    assert.match((failed!.event.error as { message: string }).message, reason);
  }
  assert.ok(packer.running, `the packer survived the bad input\n${packer.outputTail()}`);
  // Each refusal is one warning line naming the problem (and the task, where the body names one), without a stack trace.
  const warnings = packer.logRecords().filter((r) => r['log.level'] === 'warn' || r['log.level'] === 'error');
  for (const c of cases) {
    const reason = headerText(parked.messages.find((m) => m.body.equals(c.body))!, 'x-subpack-error');
    const lines = warnings.filter((r) => JSON.stringify(r).includes(JSON.stringify(reason).slice(1, -1)));
    assert.equal(lines.length, 1, `${c.name}: one log line\n${packer.outputTail()}`);
    assert.equal(lines[0]!['log.level'], 'warn', `${c.name}: a warning`);
    assert.ok(!/stack/i.test(JSON.stringify(lines[0])), `${c.name}: no stack trace: ${JSON.stringify(lines[0])}`);
  }
  for (const task of [noTarget, ossTarget]) {
    assert.equal(warnings.filter((r) => r.taskId === task.taskId).length, 1, `the line names task ${String(task.taskId)}`);
  }
  assert.ok(!/stack/i.test(packer.outputTail(1_000_000)), 'no stack trace anywhere in the packer output');

  const good = valid('good');
  const goodId = good.taskId as string;
  await stack.publishTask(good);
  const [completed] = await stack.waitForEvent(tap, goodId, 'task.completed', 60_000);
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.equal((await listTarget(targetDir)).length, 3, 'only the valid task wrote files');
  assert.equal(eventsFor(tap.messages, goodId, 'task.failed').length, 0);
  assert.equal((await packer.get('/health/ready'))?.status, 200, 'the packer is still ready');
});
