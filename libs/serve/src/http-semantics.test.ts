import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentDisposition, contentRange, httpDate, ifRangeMatches, noneMatch, parseRange } from '@subpack/runtime';
import { signatureProblem, signedQuery } from './signed-url';

test('Range: one range, suffix, open end, clamping, and what is ignored or unsatisfiable', () => {
  assert.deepEqual(parseRange(undefined, 1000), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'range', start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { kind: 'range', start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { kind: 'range', start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'range', start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { kind: 'range', start: 990, end: 999 });
  assert.deepEqual(parseRange('BYTES = 1 - 2', 1000), { kind: 'range', start: 1, end: 2 });
  assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  // Several ranges: answered with the whole body. Syntax errors and reversed ranges: the header is ignored.
  assert.deepEqual(parseRange('bytes=0-1,5-6', 1000), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=5-1', 1000), { kind: 'whole' });
  assert.deepEqual(parseRange('items=0-1', 1000), { kind: 'whole' });
  assert.deepEqual(parseRange('bytes=-', 1000), { kind: 'whole' });
  assert.equal(contentRange(0, 99, 1000), 'bytes 0-99/1000');
});

test('If-Range compares strong tags and exact dates; If-None-Match is weak', () => {
  const etag = '"abc"';
  const date = httpDate(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
  assert.equal(date, 'Thu, 02 Jan 2025 03:04:05 GMT');
  assert.ok(ifRangeMatches(undefined, etag, date));
  assert.ok(ifRangeMatches('"abc"', etag, date));
  assert.ok(!ifRangeMatches('"abd"', etag, date));
  assert.ok(!ifRangeMatches('W/"abc"', etag, date));
  assert.ok(ifRangeMatches(date, etag, date));
  assert.ok(!ifRangeMatches('Thu, 02 Jan 2025 03:04:06 GMT', etag, date));
  assert.ok(noneMatch('"x", W/"abc"', etag));
  assert.ok(noneMatch('*', etag));
  assert.ok(!noneMatch('"x"', etag));
  assert.ok(!noneMatch(undefined, etag));
});

test('Content-Disposition: plain ASCII names as is, others with an RFC 6266 filename*', () => {
  assert.equal(contentDisposition('com.x-1.0-huawei.apk'), 'attachment; filename="com.x-1.0-huawei.apk"');
  assert.equal(
    contentDisposition('王者-1.0-应用宝.apk'),
    "attachment; filename=\"__-1.0-___.apk\"; filename*=UTF-8''%E7%8E%8B%E8%80%85-1.0-%E5%BA%94%E7%94%A8%E5%AE%9D.apk",
  );
  // Quotes and spaces cannot break out of the quoted fallback and are percent-encoded in filename*.
  assert.equal(contentDisposition('a "b".apk'), "attachment; filename=\"a _b_.apk\"; filename*=UTF-8''a%20%22b%22.apk");
});

test('signed URLs: valid until expiry, bound to app and channel, refused with the reason', () => {
  const key = 'k3y';
  const now = 1_700_000_000;
  const q = Object.fromEntries(new URLSearchParams(signedQuery(key, 'game', 'huawei', now + 60)));
  assert.equal(signatureProblem(key, 'game', 'huawei', q, now), null);
  assert.match(signatureProblem(key, 'game', 'huawei', q, now + 61)!, /expired/);
  assert.match(signatureProblem(key, 'game', 'xiaomi', q, now)!, /does not match/);
  assert.match(signatureProblem(key, 'other', 'huawei', q, now)!, /does not match/);
  assert.match(signatureProblem('other-key', 'game', 'huawei', q, now)!, /does not match/);
  assert.match(signatureProblem(key, 'game', 'huawei', { ...q, expires: String(now + 3600) }, now)!, /does not match/);
  assert.match(signatureProblem(key, 'game', 'huawei', { expires: 'soon', sig: q.sig }, now)!, /Unix time/);
  assert.match(signatureProblem(key, 'game', 'huawei', {}, now)!, /needs \?expires=&sig=/);
  assert.match(signatureProblem(key, 'game', 'huawei', { expires: q.expires, sig: 'short' }, now)!, /does not match/);
});
