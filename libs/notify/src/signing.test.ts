import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { dingtalkSignedUrl, feishuSign, standardWebhooksHeaders } from './signing';

describe('standardWebhooksHeaders', () => {
  it('matches the Standard Webhooks reference vector', () => {
    const headers = standardWebhooksHeaders('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    assert.deepEqual(headers, {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('leaves the signature out when there is no secret', () => {
    assert.deepEqual(Object.keys(standardWebhooksHeaders('id', 1, '{}', undefined)), ['webhook-id', 'webhook-timestamp']);
  });
});

describe('robot signatures', () => {
  it('DingTalk: timestamp and URL-encoded sign of "<timestamp>\\n<secret>" keyed by the secret, next to the token', () => {
    const secret = 'SECb1f4e0c3f2e0a7d5b8c9';
    const signed = new URL(dingtalkSignedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', secret, 1700000000123));
    assert.equal(signed.searchParams.get('access_token'), 'abc');
    assert.equal(signed.searchParams.get('timestamp'), '1700000000123');
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`1700000000123\n${secret}`, 'utf8')).digest('base64');
    assert.equal(signed.searchParams.get('sign'), expected);
    // The raw query must carry the base64 URL-encoded: "+" would otherwise arrive as a space.
    assert.doesNotMatch(signed.search, /sign=[^&]*[+/=]/);
  });

  it('Feishu: HMAC keyed by "<timestamp>\\n<secret>" over an empty message', () => {
    const expected = createHmac('sha256', '1700000000\nfeishu-secret').digest('base64');
    assert.equal(feishuSign('feishu-secret', 1700000000), expected);
    assert.notEqual(feishuSign('feishu-secret', 1700000001), expected);
  });
});
