import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SubpackEvent } from '@subpack/contracts';
import { MAX_ROBOT_LINES, MAX_ROBOT_TEXT_BYTES, renderRequest, robotReplyProblem, robotText, truncateUtf8, type RenderInput } from './formats';
import { EVENT_LEVELS, isDelivered } from './levels';
import { resolveSubscription } from './subscriptions';

const at = '2025-06-01T12:00:00.000Z';
const completed: SubpackEvent = { type: 'task.completed', taskId: 't1', status: 'partial', total: 3, done: 2, failed: 1, at };
const failed = (channel: string, message = 'disk full'): SubpackEvent => ({ type: 'channel.failed', taskId: 't1', channel, error: { code: 'STORAGE_WRITE_FAILED', message }, at });
const facts = { package: 'com.example.app', versionName: '1.4.0', versionCode: 140 };
const noSecrets = { named: new Map<string, string>() };

function input(format: 'json' | 'dingtalk' | 'wecom' | 'feishu', events: SubpackEvent[], secret?: string): RenderInput {
  const subscription = resolveSubscription('task', { url: 'https://robot.example/send?access_token=TOKEN', format, ...(secret ? { secret } : {}) }, noSecrets);
  return { deliveryId: 'd-1', taskId: 't1', events, subscription, facts, now: new Date(1_700_000_000_000) };
}

describe('json format', () => {
  it('sends one event with id, type, level, time, taskId and data, signed over id.timestamp.body', () => {
    const secret = 'whsec_c2VjcmV0LWtleS1ieXRlcw==';
    const request = renderRequest(input('json', [completed], secret));
    const body = JSON.parse(request.body) as Record<string, unknown>;
    assert.deepEqual(body, { id: 'task.completed:t1', type: 'task.completed', level: 'info', time: at, taskId: 't1', data: completed });
    assert.equal(request.headers['webhook-id'], 'd-1');
    assert.equal(request.headers['webhook-timestamp'], '1700000000');
    const expected = createHmac('sha256', Buffer.from('secret-key-bytes')).update(`d-1.1700000000.${request.body}`).digest('base64');
    assert.equal(request.headers['webhook-signature'], `v1,${expected}`);
  });

  it('sends a batch as type "batch" with each event and its own id, at the highest level inside', () => {
    const stored: SubpackEvent = { type: 'channel.stored', taskId: 't1', channel: 'a', url: 'file:///o/a.apk', bytes: 1, md5: '0'.repeat(32), sha256: '0'.repeat(64), at };
    const body = JSON.parse(renderRequest(input('json', [stored, failed('b')])).body) as { id: string; type: string; level: string; data: { events: { id: string }[] } };
    assert.equal(body.id, 'd-1');
    assert.equal(body.type, 'batch');
    assert.equal(body.level, 'error');
    assert.deepEqual(body.data.events.map((event) => event.id), ['channel.stored:t1:a', 'channel.failed:t1:b']);
  });
});

describe('task.cancelled', () => {
  const cancelled: SubpackEvent = { type: 'task.cancelled', taskId: 't1', total: 400, done: 120, failed: 2, cancelledBy: 'ops **admin**', at };

  it('goes out at level info in json, alone and inside a batch', () => {
    const body = JSON.parse(renderRequest(input('json', [cancelled])).body) as Record<string, unknown>;
    assert.deepEqual(body, { id: 'task.cancelled:t1', type: 'task.cancelled', level: 'info', time: at, taskId: 't1', data: cancelled });
    assert.equal(EVENT_LEVELS['task.cancelled'], 'info');
    for (const format of ['json', 'dingtalk', 'wecom', 'feishu'] as const) {
      assert.ok(isDelivered('task.cancelled', resolveSubscription('task', { url: 'https://robot.example/send', format, level: 'info' }, noSecrets)), format);
      assert.ok(!isDelivered('task.cancelled', resolveSubscription('task', { url: 'https://robot.example/send', format, level: 'warn' }, noSecrets)), `${format} at warn`);
    }
  });

  it('robots say cancelled, with the counts and who cancelled it as plain text', () => {
    const { title, text } = robotText({ taskId: 't1', events: [cancelled], facts });
    assert.equal(title, 'subpack t1: cancelled');
    assert.match(text, /Channels: 120 stored, 2 failed, 400 in all; no more are written/);
    assert.match(text, /Cancelled by: ops \\\*\\\*admin\\\*\\\*/);
    const dingtalk = JSON.parse(renderRequest(input('dingtalk', [cancelled], 'SECabc')).body) as { markdown: { title: string } };
    assert.equal(dingtalk.markdown.title, 'subpack t1: cancelled');
    const wecom = JSON.parse(renderRequest(input('wecom', [cancelled])).body) as { markdown: { content: string } };
    assert.match(wecom.markdown.content, /subpack t1: cancelled/);
    const feishu = JSON.parse(renderRequest(input('feishu', [cancelled])).body) as { card: { header: { title: { content: string } } } };
    assert.equal(feishu.card.header.title.content, 'subpack t1: cancelled');
  });
});

describe('robot formats', () => {
  it('summarise the task, package, version, counts and failures with reasons in markdown', () => {
    const { title, text } = robotText({ taskId: 't1', events: [failed('xiaomi', 'EACCES: permission denied\nsecond line'), completed], facts });
    assert.equal(title, 'subpack t1: partial (1 failed)');
    assert.match(text, /Package: com\.example\.app 1\.4\.0 \(140\)/);
    assert.match(text, /Channels: 2 stored, 1 failed, 3 in all/);
    assert.match(text, /- xiaomi: STORAGE\\_WRITE\\_FAILED: EACCES: permission denied second line/);
  });

  it('list at most MAX_ROBOT_LINES failures and stay under the byte limit', () => {
    const many = Array.from({ length: 60 }, (_, index) => failed(`渠道-${index}`, '写入失败'.repeat(60)));
    const { text } = robotText({ taskId: 't1', events: many, facts });
    assert.ok(Buffer.byteLength(text) <= MAX_ROBOT_TEXT_BYTES);
    assert.ok((text.match(/^- 渠道/gm) ?? []).length <= MAX_ROBOT_LINES);
    assert.equal(truncateUtf8('ab', 10), 'ab');
    assert.ok(Buffer.byteLength(truncateUtf8('界'.repeat(100), 50)) <= 50);
  });

  it('DingTalk: markdown body; the signature goes in the URL', () => {
    const request = renderRequest(input('dingtalk', [completed], 'SECabc'));
    const body = JSON.parse(request.body) as { msgtype: string; markdown: { title: string; text: string } };
    assert.equal(body.msgtype, 'markdown');
    assert.equal(body.markdown.title, 'subpack t1: partial (1 failed)');
    const url = new URL(request.url);
    assert.equal(url.searchParams.get('timestamp'), '1700000000000');
    assert.equal(url.searchParams.get('access_token'), 'TOKEN');
  });

  it('WeCom: markdown content, URL unchanged; Feishu: card with timestamp and sign in the body', () => {
    const wecom = renderRequest(input('wecom', [completed]));
    assert.equal(wecom.url, 'https://robot.example/send?access_token=TOKEN');
    assert.equal((JSON.parse(wecom.body) as { msgtype: string }).msgtype, 'markdown');
    const feishu = JSON.parse(renderRequest(input('feishu', [completed], 'fs')).body) as { timestamp: string; sign: string; msg_type: string };
    assert.equal(feishu.msg_type, 'interactive');
    assert.equal(feishu.timestamp, '1700000000');
    assert.equal(feishu.sign, createHmac('sha256', '1700000000\nfs').update('').digest('base64'));
  });

  it('read the error code robots answer with HTTP 200', () => {
    assert.equal(robotReplyProblem('dingtalk', 200, '{"errcode":0,"errmsg":"ok"}'), undefined);
    assert.deepEqual(robotReplyProblem('dingtalk', 200, '{"errcode":310000,"errmsg":"sign not match"}'), { permanent: true, reason: 'dingtalk refused the message: code 310000 (sign not match)' });
    assert.equal(robotReplyProblem('wecom', 200, '{"errcode":45009,"errmsg":"api freq out of limit"}')?.permanent, false);
    assert.equal(robotReplyProblem('feishu', 200, '{"code":0,"msg":"success"}'), undefined);
    assert.equal(robotReplyProblem('feishu', 200, '{"code":19021,"msg":"sign match fail"}')?.permanent, true);
    assert.equal(robotReplyProblem('json', 200, 'anything'), undefined);
    // A URL that is not the robot's: what came back is named, not an undefined code.
    assert.deepEqual(robotReplyProblem('dingtalk', 200, '{"ok":true}'), { permanent: true, reason: "the receiver answered HTTP 200 with JSON without an errcode, not a dingtalk robot's reply" });
    assert.deepEqual(robotReplyProblem('feishu', 201, '[]'), { permanent: true, reason: "the receiver answered HTTP 201 with JSON without a code, not a feishu robot's reply" });
    assert.deepEqual(robotReplyProblem('wecom', 204, ''), { permanent: false, reason: "the receiver answered HTTP 204 with an empty body, not a wecom robot's reply" });
    assert.equal(robotReplyProblem('dingtalk', 200, '<html>')?.reason, "the receiver answered HTTP 200 with a body that is not JSON, not a dingtalk robot's reply");
  });
});
