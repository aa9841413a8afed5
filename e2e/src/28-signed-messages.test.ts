// Internal messages must come from a service holding SUBPACK_INTERNAL_KEY: anyone else with publish rights on the
// internal routing keys gets their message parked as forged, with no event, no read and no write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORGED_REASON } from '@subpack/messaging';
import { standardApk } from '@subpack/testing';
import { channelIds, E2E_INTERNAL_KEY, E2eStack, eventsFor, fileTargetUrl, fileUrl, headerText, internalSignature, listTarget, parkedCopy, publishManyJson, ServiceProcess, stackPerFile, uniqueTaskId, WebhookReceiver } from './harness';

const stack = stackPerFile('signed', {}, (s) => s.startPipeline());

test('forged pack.batch and channel.store messages are parked as forged: no event, no read, no write', { timeout: 120_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('forged');
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const { taskId: known } = await stack.runTask(tap, { label: 'known', master, target: targetDir, channels: channelIds(2) }, 60_000);
  const ghost = uniqueTaskId('ghost');
  const batch = {
    taskId: ghost,
    master: fileUrl(master),
    format: 'auto',
    naming: '{channel}.apk',
    target: fileTargetUrl(targetDir),
    channels: [{ id: 'ghost-1' }],
    batch: { index: 0, count: 1 },
    totalChannels: 1,
  };
  const forgeries = [
    // Used to end in task.failed STATE_LOST for a task that never existed, and a read of the master on every retry.
    { routingKey: 'pack.batch', body: batch },
    { routingKey: 'channel.store', body: { taskId: ghost, channel: 'ghost-1', batchIndex: 0 } },
    // Used to fail a channel of a real task at error level although it was stored.
    { routingKey: 'channel.store', body: { taskId: known, channel: 'ch-1', batchIndex: 0, sha256: 'f'.repeat(64) } },
    // Signed with some other key.
    { routingKey: 'pack.batch', body: { ...batch, taskId: uniqueTaskId('wrong-key') }, headers: internalSignature('pack.batch', { ...batch }, 'not-the-services-key-0123456789abcdef') },
    // A valid signature of another message.
    { routingKey: 'channel.store', body: { taskId: known, channel: 'ch-2', batchIndex: 0 }, headers: internalSignature('channel.store', { taskId: known, channel: 'ch-1', batchIndex: 0 }) },
  ];
  for (const f of forgeries) await stack.publishTask(f.body, { routingKey: f.routingKey, ...(f.headers ? { headers: f.headers } : {}) });
  await parked.waitFor(`${forgeries.length} parked forgeries`, (m) => m.length >= forgeries.length, 30_000, () => stack.describe(tap));
  for (const f of forgeries) {
    const message = parkedCopy(parked, f.body);
    assert.ok(message, `${f.routingKey} ${JSON.stringify(f.body)} parked`);
    assert.equal(headerText(message, 'x-subpack-error'), FORGED_REASON);
  }
  // Give a retry tier (1 s in e2e) time to bring anything back, then look for any trace of the forgeries.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const traces = [...eventsFor(tap.messages, ghost), ...eventsFor(tap.messages, known).filter(({ event }) => event.type === 'channel.failed' || event.type === 'task.failed' || event.type === 'retry.scheduled')];
  assert.deepEqual(traces.map(({ event }) => `${String(event.type)} ${String(event.taskId)}`), [], 'no event about a forged message');
  assert.equal(eventsFor(tap.messages, known, 'channel.stored').length, 2, 'the known task was announced once per channel, before the forgeries');
  assert.equal(parked.messages.length, forgeries.length, 'nothing else was parked (no retries of the forgeries)');
  const files = (await listTarget(targetDir)).map((f) => f.file.slice(targetDir.length + 1));
  assert.deepEqual(files.map((name) => name.replace(/^.*-(ch-\d)\.apk$/, '$1')).sort(), ['ch-1', 'ch-2'], `nothing was written for a forgery: ${files.join(', ')}`);
  const status = await stack.status(known);
  assert.deepEqual([status.status, status.done, status.failed], ['done', 2, 0], 'the known task is untouched');
});

test('a forged notify.delivery is parked as forged and makes no HTTP request; a signed one is sent', { timeout: 120_000 }, async () => {
  const receiver = await WebhookReceiver.start();
  try {
    const secret = 'whsec_' + Buffer.from('forged-delivery-test-key').toString('base64');
    await stack.start('notifier', {
      SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
      SUBPACK_NOTIFY_SUBSCRIPTIONS: JSON.stringify([{ url: receiver.url('/hook'), level: 'info', secret }]),
    });
    const parked = await stack.parkedSpy();
    const deliveries = await stack.spy('deliveries', { exchange: 'subpack', routingKey: 'notify.delivery' });
    // A genuine delivery, made by the notifier from an event: the forgeries below copy it, so each would be sent if
    // its signature were not checked.
    const taskId = uniqueTaskId('notify-forged');
    await publishManyJson(stack.amqpUrl, [
      { routingKey: 'event.task.completed', body: { type: 'task.completed', taskId, status: 'done', total: 1, done: 1, failed: 0, at: new Date().toISOString() } },
    ]);
    // Events of the test before are delivered too (the notifier's queue kept them): only this task's are counted.
    const ours = (): typeof receiver.requests => receiver.requests.filter((r) => r.body.includes(taskId));
    const isOurs = (m: { json: unknown }): boolean => (m.json as { taskId?: unknown } | undefined)?.taskId === taskId;
    await deliveries.waitFor('the genuine delivery', (m) => m.some(isOurs), 30_000);
    const deadline = Date.now() + 30_000;
    while (ours().length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ours().length, 1, 'the genuine delivery was sent');
    const genuine = deliveries.messages.find(isOurs)!;
    const delivery = genuine.json as { deliveryId: string };
    const again = (label: string): Record<string, unknown> => ({ ...delivery, deliveryId: `${delivery.deliveryId}:${label}` });

    const forgeries = [
      { label: 'unsigned', body: again('unsigned'), headers: undefined },
      { label: 'signed with another key', body: again('other-key'), headers: internalSignature('notify.delivery', again('other-key'), 'not-the-services-key-0123456789abcdef') },
      { label: "the genuine delivery's signature on another body", body: again('copied-signature'), headers: { 'x-subpack-signature': String(genuine.headers['x-subpack-signature']) } },
    ];
    for (const f of forgeries) await stack.publishTask(f.body, { routingKey: 'notify.delivery', ...(f.headers ? { headers: f.headers } : {}) });
    await parked.waitFor(`${forgeries.length} parked forgeries`, (m) => m.filter(isOurs).length >= forgeries.length, 30_000);
    for (const f of forgeries) {
      const message = parkedCopy(parked, f.body);
      assert.ok(message, `${f.label}: parked`);
      assert.equal(headerText(message, 'x-subpack-error'), FORGED_REASON, `${f.label}: parked as forged`);
    }
    // A retry tier (1 s in e2e) has time to bring anything back before the count is taken.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(ours().length, 1, `no request for a forged delivery: ${ours().map((r) => r.headers['webhook-id']).join(', ')}`);
    assert.equal(parked.messages.filter(isOurs).length, forgeries.length, 'nothing else of this task was parked');

    // The same body, signed with the services' key, is sent: the signature alone kept the forgeries out.
    const signed = again('signed');
    await stack.publishTask(signed, { routingKey: 'notify.delivery', headers: internalSignature('notify.delivery', signed) });
    const signedDeadline = Date.now() + 30_000;
    while (ours().length < 2 && Date.now() < signedDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ours().length, 2, 'the signed copy was sent');
    assert.equal(ours()[1]!.headers['webhook-id'], signed.deliveryId);
  } finally {
    await receiver.close();
  }
});

test('a message signed with the previous key is still handled during a rotation', { timeout: 120_000 }, async () => {
  const rotating = await E2eStack.create('rotation');
  try {
    const master = await standardApk('v1v2v3');
    const targetDir = await rotating.makeDir('out');
    // The packer still has the old key; the uploader already has the new one and accepts the old.
    await rotating.startPipeline({ uploader: { SUBPACK_INTERNAL_KEY: 'the-new-internal-key-0123456789abcdef', SUBPACK_INTERNAL_KEY_PREVIOUS: E2E_INTERNAL_KEY } });
    const tap = await rotating.eventTap();
    const { completed } = await rotating.runTask(tap, { label: 'rotation', master, target: targetDir, channels: channelIds(3) }, 60_000);
    assert.deepEqual([completed.event.status, completed.event.done], ['done', 3]);
  } finally {
    await rotating.cleanup();
  }
});

test('services refuse to start without the internal key, or with a short one', { timeout: 60_000 }, async () => {
  for (const [label, key] of [['missing', ''], ['short', 'too-short']] as const) {
    const service = await ServiceProcess.spawn('uploader', { label: `uploader-${label}-key`, env: { ...stack.env, ...stack.rootsEnv, SUBPACK_INTERNAL_KEY: key } });
    const status = await service.exited;
    assert.equal(status.code, 78, `exits with EX_CONFIG\n${service.outputTail()}`);
    assert.match(service.outputTail(), label === 'missing' ? /SUBPACK_INTERNAL_KEY is required/ : /SUBPACK_INTERNAL_KEY=\(value hidden\) must be at least 32 characters/);
    assert.doesNotMatch(service.outputTail(), /too-short/, 'the key is never echoed');
  }
});
