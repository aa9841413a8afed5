/** Keys whose values are never shown: a notify secret, a token in a robot URL, a password. */
const SECRET_KEY = /secret|token|password|passwd|signature|authorization|credential|api[-_]?key/i;

function redactUrl(text: string): string {
  return text.replace(/([?&](?:access_token|token|key|secret|sign|signature|x-amz-signature|x-amz-credential)=)[^&#\s"]*/gi, '$1***');
}

/** A copy of a JSON value with secrets replaced by "***" (by key, and token-like query parameters inside URLs). */
export function redacted(value: unknown, depth = 0): unknown {
  if (depth > 20) return '…';
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redacted(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '***' : redacted(v, depth + 1)]));
  }
  return value;
}

/** A message body as text for people: JSON redacted and re-serialised, anything else cut short and redacted. */
export function redactedBody(body: Buffer, max = 4000): string {
  const text = body.toString('utf8');
  try {
    return JSON.stringify(redacted(JSON.parse(text))).slice(0, max);
  } catch {
    return redactUrl(text.slice(0, max));
  }
}
