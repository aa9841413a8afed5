import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FakeOss, startMoto, type MotoServer } from '@subpack/testing';
import { MAX_PRESIGN_SECONDS, presignedGet, s3ClientConfig, storeSettings, type StoreSettings } from './index';

const BODY = Buffer.from('a channel APK, as far as the store is concerned: 王者荣耀');
let moto: MotoServer;
let oss: FakeOss;
let s3Settings: StoreSettings;
let ossSettings: StoreSettings;

before(async () => {
  [moto, oss] = await Promise.all([startMoto(), FakeOss.start({ accessKeyId: 'oss-key-id', accessKeySecret: 'oss-secret-0123456789', region: 'cn-hangzhou' })]);
  s3Settings = storeSettings('s3', 'links', 'out/a.apk', moto.env);
  ossSettings = storeSettings('oss', 'links', 'out/a.apk', oss.env);
  const s3 = new S3Client(s3ClientConfig(s3Settings));
  await s3.send(new CreateBucketCommand({ Bucket: 'links' }));
  await s3.send(new PutObjectCommand({ Bucket: 'links', Key: 'out/huawei store.apk', Body: BODY }));
  s3.destroy();
  oss.createBucket('links');
  oss.putObject('links', 'out/huawei store.apk', BODY);
});

after(async () => {
  await Promise.all([moto.stop(), oss.stop()]);
});

test('a presigned S3 link downloads the object with a plain GET, with the asked-for file name', async () => {
  const link = await presignedGet('s3://links/out/huawei%20store.apk', 300, { settings: s3Settings, contentDisposition: 'attachment; filename="huawei store.apk"' });
  const u = new URL(link);
  assert.equal(u.origin, moto.endpoint, 'path-style on the configured endpoint');
  assert.equal(u.searchParams.get('X-Amz-Expires'), '300');
  assert.match(u.searchParams.get('X-Amz-Credential') ?? '', /^testing-key-id\/\d{8}\/us-east-1\/s3\/aws4_request$/);
  const res = await fetch(link);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), BODY);
  // moto ignores response-content-disposition; the store is asked for it in the signed query.
  assert.equal(u.searchParams.get('response-content-disposition'), 'attachment; filename="huawei store.apk"');
});

test('an S3 link expires after its lifetime: signed now, for exactly that many seconds', async () => {
  // moto serves expired links (it checks neither signatures nor expiry), so the expiry is read from the link; real S3
  // and the S3-compatible stores refuse a request after X-Amz-Date + X-Amz-Expires.
  const before = Date.now();
  const u = new URL(await presignedGet('s3://links/out/huawei%20store.apk', 90, { settings: s3Settings }));
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(u.searchParams.get('X-Amz-Date') ?? '');
  assert.ok(d);
  const signedAt = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]), Number(d[5]), Number(d[6]));
  assert.ok(Math.abs(signedAt - before) < 2000);
  assert.equal(u.searchParams.get('X-Amz-Expires'), '90');
  assert.ok(u.searchParams.get('X-Amz-Signature'));
});

test('a presigned OSS link is accepted by an OSS that checks query signatures, and refused once expired', async () => {
  const link = await presignedGet('oss://links/out/huawei%20store.apk', 2, { settings: ossSettings });
  const fresh = await virtualHostGet(link, 'links');
  assert.equal(fresh.status, 200, fresh.body.toString());
  assert.deepEqual(fresh.body, BODY);

  const forged = new URL(link);
  forged.pathname = '/out/other.apk';
  assert.equal((await virtualHostGet(forged.href, 'links')).status, 403, 'the signature covers the key');

  await new Promise((r) => setTimeout(r, 3100));
  const expired = await virtualHostGet(link, 'links');
  assert.equal(expired.status, 403);
  assert.match(expired.body.toString(), /expired/);
});

test('lifetimes outside 1 s to 7 days and file URLs are refused before anything is signed', async () => {
  await assert.rejects(presignedGet('s3://links/a.apk', 0, { settings: s3Settings }), /whole number of seconds/);
  await assert.rejects(presignedGet('s3://links/a.apk', MAX_PRESIGN_SECONDS + 1, { settings: s3Settings }), /7 days/);
  await assert.rejects(presignedGet('file:///srv/a.apk', 60), /local file/);
  await assert.rejects(presignedGet('s3://links/', 60, { settings: s3Settings }), /no object key/);
});

/**
 * OSS addresses buckets by host name (bucket.oss-region.aliyuncs.com); against an IP endpoint the link's host has no
 * bucket, so the request carries the host name DNS would have resolved.
 */
function virtualHostGet(link: string, bucket: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(link);
  return new Promise((resolve, reject) => {
    const req = request(u, { headers: { host: `${bucket}.oss-cn-hangzhou.aliyuncs.com` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
