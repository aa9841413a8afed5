import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { Upload } from 'tus-js-client';
import { largeApk, startMoto, type MotoServer } from '@subpack/testing';
import { StorageRoots } from '@subpack/storage';
import { MasterRegistry, MasterUploads, type MasterRecord } from './index';

// Uploads into an s3:// master root: tus parts become the parts of a multipart upload in the store (moto, a real S3
// server, which enforces the 5 MiB minimum part size), and the finished object is inspected through a range reader.
const BASE = '/api/v1/masters/uploads';
let moto: MotoServer;
let s3: S3Client;
let redis: Redis;
let uploads: MasterUploads;
let registry: MasterRegistry;
let server: Server;
let endpoint: string;
const prefix = `test:s3-masters:${process.pid}:`;
const saved = { ...process.env };

before(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'apks' }));
  redis = new Redis({ host: '127.0.0.1', port: 6379 });
  uploads = await MasterUploads.create({
    root: { kind: 's3', url: 's3://apks/uploads/' },
    basePath: BASE,
    maxBytes: 64 * 1024 * 1024,
    onUploaded: (upload, owner) => registry.fromUpload(upload, owner),
  });
  registry = new MasterRegistry({ redis, keyPrefix: prefix, roots: StorageRoots.parse('s3://apks', 'SUBPACK_MASTER_ROOTS'), uploads });
  server = createServer((req, res) => void uploads.handle(req, res, 'alice'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}${BASE}`;
});

after(async () => {
  const keys = await redis?.keys(`${prefix}*`);
  if (keys?.length) await redis.del(...keys);
  await uploads?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  redis?.disconnect();
  s3?.destroy();
  await moto?.stop();
  process.env = saved;
});

test('a master uploaded in 5.5 MiB tus chunks lands as one object in the s3:// root and is inspected there', { timeout: 120_000 }, async () => {
  const apk = await largeApk();
  const { size } = await stat(apk);
  assert.ok(size > 6 * 1024 * 1024, `the fixture spans more than one part (${size} bytes)`);
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const u = new Upload(createReadStream(apk), {
      endpoint,
      uploadSize: size,
      chunkSize: 5.5 * 1024 * 1024,
      retryDelays: [],
      metadata: { filename: 'big.apk' },
      onSuccess: (payload) => resolve({ status: payload.lastResponse.getStatus(), body: payload.lastResponse.getBody() }),
      onError: reject,
    });
    u.start();
  });
  assert.equal(res.status, 200, res.body);
  const record = JSON.parse(res.body) as MasterRecord;
  assert.match(record.url, /^s3:\/\/apks\/uploads\/[0-9a-f]{32}$/);
  assert.equal(record.size, size);
  assert.equal(record.package, 'com.example.large');
  const key = record.url.slice('s3://apks/'.length);
  const object = await s3.send(new GetObjectCommand({ Bucket: 'apks', Key: key }));
  assert.equal(object.ContentLength, size);
  assert.deepEqual(await registry.get(record.id), record);

  // Deleting the master removes its object (and tus's bookkeeping beside it).
  await registry.delete(record.id, async () => false);
  const left = await s3.send(new ListObjectsV2Command({ Bucket: 'apks', Prefix: key }));
  assert.equal(left.KeyCount ?? 0, 0, JSON.stringify(left.Contents?.map((o) => o.Key)));
});
