// The notifier behind a real task: Standard Webhooks json receivers check signatures and timestamps, DingTalk, Feishu
// and WeCom stand-ins check their own signing rules, a warn subscription sees retries but no progress, and a host off
// the allowlist gets no request but a notify.failed event that says why.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, stackPerFile, WebhookReceiver, type ReceivedRequest } from './harness';

const JSON_SECRET = 'whsec_' + Buffer.from('info-subscriber-key-0123456789').toString('base64');
const WARN_SECRET = 'whsec_' + Buffer.from('warn-subscriber-key-9876543210').toString('base64');
const DINGTALK_SECRET = 'SECd1ngta1kr0b0tsecret';
const FEISHU_SECRET = 'feishu-bot-secret';
const WECOM_KEY = '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';

/** Standard Webhooks verification as a receiver implements it from the specification. */
function verifyStandardWebhook(request: ReceivedRequest, secret: string): string | undefined {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = request.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing webhook-* headers';
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return `timestamp ${timestamp} is not within 5 minutes`;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  const matches = signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? undefined : 'no v1 signature matches';
}

/** DingTalk's documented check: sign = urlencode(base64(HmacSHA256(key = secret, "<timestamp>\n<secret>"))). */
function verifyDingTalk(request: ReceivedRequest): string | undefined {
  const timestamp = request.query.get('timestamp');
  const sign = request.query.get('sign');
  if (timestamp === null || sign === null) return 'timestamp or sign missing';
  if (Math.abs(Date.now() - Number(timestamp)) > 3_600_000) return 'timestamp older than an hour';
  const expected = createHmac('sha256', DINGTALK_SECRET).update(`${timestamp}\n${DINGTALK_SECRET}`).digest('base64');
  if (request.query.get('access_token') !== 'ding-token') return 'access_token missing';
  return sign === expected ? undefined : 'sign does not match';
}

/** Feishu's documented check: sign = base64(HmacSHA256(key = "<timestamp>\n<secret>", "")). */
function verifyFeishu(request: ReceivedRequest): string | undefined {
  const body = JSON.parse(request.body) as { timestamp?: string; sign?: string };
  if (body.timestamp === undefined || body.sign === undefined) return 'timestamp or sign missing';
  if (Math.abs(Date.now() / 1000 - Number(body.timestamp)) > 3600) return 'timestamp older than an hour';
  const expected = createHmac('sha256', `${body.timestamp}\n${FEISHU_SECRET}`).update('').digest('base64');
  return body.sign === expected ? undefined : 'sign does not match';
}

interface JsonDelivery {
  id: string;
  type: string;
  level: string;
  taskId: string;
  data: { type: string; channel?: string; events?: { id: string; type: string; data: { channel?: string } }[] };
}

/** Every event inside the accepted json requests (batches unpacked), with its id. */
function jsonEvents(requests: readonly ReceivedRequest[]): { id: string; type: string; channel?: string }[] {
  return requests.flatMap((request) => {
    const body = JSON.parse(request.body) as JsonDelivery;
    if (body.type === 'batch') return (body.data.events ?? []).map((event) => ({ id: event.id, type: event.type, channel: event.data.channel }));
    return [{ id: body.id, type: body.type, channel: body.data.channel }];
  });
}

const problems: string[] = [];
const stack = stackPerFile('notifier-pipeline', { retryTiers: '1s,2s', maxAttempts: 20 });
let receiver: WebhookReceiver;

before(async () => {
  receiver = await WebhookReceiver.start((request) => {
    const check = (problem: string | undefined, rejected: { status: number; body?: string }): { status: number; body?: string } => {
      if (problem === undefined) return { status: 200, body: '{"errcode":0,"code":0}' };
      problems.push(`${request.path}: ${problem}`);
      return rejected;
    };
    switch (request.path) {
      case '/json-info':
        return check(verifyStandardWebhook(request, JSON_SECRET), { status: 401 });
      case '/json-warn':
        return check(verifyStandardWebhook(request, WARN_SECRET), { status: 401 });
      case '/dingtalk':
        return check(verifyDingTalk(request), { status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' });
      case '/feishu/open-apis/bot/v2/hook/abc':
        return check(verifyFeishu(request), { status: 200, body: '{"code":19021,"msg":"sign match fail"}' });
      case '/wecom':
        return check(request.query.get('key') === WECOM_KEY ? undefined : 'wrong key', { status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' });
      default:
        return check(`unexpected path ${request.path}`, { status: 404 });
    }
  });
});
after(async () => {
  await receiver.close();
});

test('signed deliveries by level and format for a task with retries; an off-list host is refused with a reason', { timeout: 180_000 }, async (t) => {
  const master = await standardApk('v1v2v3');
  // A regular file where the target directory should be: every write fails until the test replaces it.
  const targetDir = join(stack.workDir, 'target');
  await writeFile(targetDir, 'not a directory\n');
  await stack.startPipeline({
    notifier: { SUBPACK_NOTIFY_ALLOWED_HOSTS: '127.0.0.1', SUBPACK_NOTIFY_SECRET_WARN_HOOK: WARN_SECRET, SUBPACK_NOTIFY_BATCH_WINDOW_MS: '500' },
  });
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();

  const channels = channelIds(6);
  const taskId = await stack.sendTask({
    label: 'notify',
    master,
    target: targetDir,
    channels,
    notify: [
      { url: receiver.url('/json-info'), level: 'info', secret: JSON_SECRET },
      { url: receiver.url('/json-warn'), level: 'warn', secretRef: 'WARN_HOOK' },
      { url: `${receiver.url('/dingtalk')}?access_token=ding-token`, format: 'dingtalk', secret: DINGTALK_SECRET },
      { url: receiver.url('/feishu/open-apis/bot/v2/hook/abc'), format: 'feishu', secret: FEISHU_SECRET },
      { url: `${receiver.url('/wecom')}?key=${WECOM_KEY}`, format: 'wecom', level: 'warn' },
      // localhost is 127.0.0.1, but only 127.0.0.1 is on the list: no request may reach the receiver this way.
      { url: `http://localhost:${receiver.port}/off-list`, level: 'info' },
    ],
  });

  await receiver.waitFor('a retry.scheduled delivery to the warn subscription', (requests) => jsonEvents(requests.filter((r) => r.path === '/json-warn')).some((e) => e.type === 'retry.scheduled'), 60_000, () => stack.describe(tap));
  await rm(targetDir);
  await mkdir(targetDir);
  await stack.waitForEvent(tap, taskId, 'task.completed', 90_000);
  await receiver.waitFor('task.completed at the json, DingTalk and Feishu receivers', (requests) => {
    const completedJson = jsonEvents(requests.filter((r) => r.path === '/json-info')).some((e) => e.type === 'task.completed');
    return completedJson && requests.some((r) => r.path === '/dingtalk' && r.body.includes('done')) && requests.some((r) => r.path.startsWith('/feishu') && r.body.includes('done'));
  }, 30_000, () => stack.describe(tap));
  // Each delivery to the off-list host is refused on its first attempt; the task's outcome is the last of them.
  await tap.waitFor('the refusal of the task.completed delivery', (m) => eventsFor(m, taskId, 'notify.failed').some((e) => String(e.event.deliveryId).startsWith('task.completed:')), 30_000, () => stack.describe(tap));
  const isParkedDelivery = (m: { routingKey: string }): boolean => m.routingKey === 'notify.delivery';
  await parked.waitFor('every refused delivery parked', (m) => m.filter(isParkedDelivery).length >= eventsFor(tap.messages, taskId, 'notify.failed').length, 30_000);

  assert.deepEqual(problems, [], 'every request carried a valid signature, timestamp or key');

  const info = receiver.accepted('/json-info');
  const infoEvents = jsonEvents(info);
  assert.deepEqual([...new Set(infoEvents.filter((e) => e.type === 'channel.stored').map((e) => e.channel))].sort(), channels, 'every stored channel reached the info subscription');
  assert.ok(infoEvents.some((e) => e.type === 'task.accepted'));
  assert.ok(infoEvents.some((e) => e.type === 'retry.scheduled'), 'info also sees warn events');
  assert.ok(info.length < infoEvents.length, `channel events were batched (${info.length} requests for ${infoEvents.length} events)`);
  for (const request of info) {
    const body = JSON.parse(request.body) as JsonDelivery;
    assert.equal(body.taskId, taskId);
    assert.ok(['info', 'warn', 'error'].includes(body.level));
  }

  const warnTypes = new Set(jsonEvents(receiver.accepted('/json-warn')).map((e) => e.type));
  assert.deepEqual([...warnTypes], ['retry.scheduled'], 'the warn subscription gets retries, not progress');

  const dingtalk = receiver.accepted('/dingtalk');
  const feishu = receiver.accepted('/feishu/open-apis/bot/v2/hook/abc');
  const wecom = receiver.accepted('/wecom');
  for (const [name, requests] of [['dingtalk', dingtalk], ['feishu', feishu]] as const) {
    const outcome = requests.filter((r) => r.body.includes(`subpack ${taskId}: done`));
    assert.equal(outcome.length, 1, `${name}: one message for the task outcome`);
    assert.match(outcome[0]!.body, /com\.example\.v123/, `${name}: the summary names the package`);
    assert.match(outcome[0]!.body, /6 stored, 0 failed, 6 in all/, `${name}: the summary has the counts`);
    assert.ok(requests.length <= 1 + requests.filter((r) => r.body.includes('Retries scheduled')).length, `${name}: no per-channel messages`);
  }
  assert.ok(wecom.length >= 1 && wecom.every((r) => r.body.includes('Retries scheduled')), 'WeCom at warn level: retry summaries only');
  assert.ok(!wecom.some((r) => r.body.includes(': done')), 'WeCom at warn level: no info outcome');

  assert.equal(receiver.requests.filter((r) => r.path === '/off-list').length, 0, 'no request to the host off the allowlist');
  const refusals = eventsFor(tap.messages, taskId, 'notify.failed');
  assert.ok(refusals.length >= 1);
  for (const { event } of refusals) {
    assert.equal(event.permanent, true);
    assert.equal(event.reason, 'host localhost is not on the notifier allowlist (SUBPACK_NOTIFY_ALLOWED_HOSTS)');
    assert.deepEqual((event.subscription as { origin: string }).origin, `http://localhost:${receiver.port}`);
  }
  assert.equal(parked.messages.length, refusals.length, 'only the refused deliveries are parked');
  assert.ok(parked.messages.every(isParkedDelivery));
  assert.ok(parked.messages.every((m) => m.headers['x-subpack-error'] === refusals[0]!.event.reason), 'parked with the reason');
  const secrets = [JSON_SECRET, WARN_SECRET, DINGTALK_SECRET, FEISHU_SECRET];
  const leaked = [...tap.messages.map((m) => m.body.toString()), stack.outputs(1_000_000)].filter((text) => secrets.some((s) => text.includes(s)));
  assert.deepEqual(leaked, [], 'no secret in events or logs');
  t.diagnostic(`json-info: ${info.length} requests for ${infoEvents.length} events; dingtalk ${dingtalk.length}, feishu ${feishu.length}, wecom ${wecom.length}`);
});
