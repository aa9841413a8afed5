import { createHmac } from 'node:crypto';

const STANDARD_WEBHOOKS_PREFIX = 'whsec_';

/** The base64 key of a `whsec_<base64>` secret (the form Standard Webhooks libraries take). */
export function standardWebhooksKey(secret: string): Buffer {
  const base64 = secret.startsWith(STANDARD_WEBHOOKS_PREFIX) ? secret.slice(STANDARD_WEBHOOKS_PREFIX.length) : secret;
  return Buffer.from(base64, 'base64');
}

/**
 * Standard Webhooks headers: webhook-id, webhook-timestamp (Unix seconds) and
 * webhook-signature = `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`.
 */
export function standardWebhooksHeaders(id: string, timestampSeconds: number, body: string, secret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds) };
  if (secret !== undefined) {
    const signature = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
    headers['webhook-signature'] = `v1,${signature}`;
  }
  return headers;
}

/**
 * DingTalk custom robot: `timestamp` (ms) and `sign` = base64 HMAC-SHA256 of "<timestamp>\n<secret>" keyed by the secret,
 * URL-encoded, as query parameters.
 */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const sign = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
  const signed = new URL(url);
  signed.searchParams.set('timestamp', String(timestampMs));
  signed.searchParams.set('sign', sign);
  return signed.toString();
}

/** Feishu/Lark custom bot: `sign` = base64 HMAC-SHA256 keyed by "<timestamp>\n<secret>" over an empty message. */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}
