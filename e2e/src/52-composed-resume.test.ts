// Composed uploads continued after a crash: the uploader is killed (SIGKILL) while several channels are being composed
// in the store, their part copies (master[0:k], server-side) still running inside the store. After a restart each
// such upload is continued from its copied part once it lands: no part is copied twice, nothing is aborted, and every
// object is the channel's exact bytes. Every S3 call passes through a counting proxy in front of moto, which also
// holds the copies back until the restarted uploader has looked at the uploads.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { largeApk, startMoto, type MotoServer } from '@subpack/testing';
import { channelIds, delay, E2eStack, eventsFor, packTask, S3CountingProxy, storedChannels, uniqueTaskId, waitFor } from './harness';

const CHANNELS = 12;
/** Channels the uploader composes at once, so this many uploads are open when it dies. */
const CONCURRENT = 6;

let stack: E2eStack | undefined;
let moto: MotoServer | undefined;
let proxy: S3CountingProxy | undefined;
let s3: S3Client | undefined;

before(async () => {
  [stack, moto] = await Promise.all([E2eStack.create('resume'), startMoto()]);
  proxy = await S3CountingProxy.start(moto.endpoint);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  for (const bucket of ['apks', 'channels']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

after(async () => {
  try {
    await stack?.cleanup();
  } finally {
    s3?.destroy();
    await proxy?.close();
    await moto?.stop();
  }
});

test('kill -9 of the uploader during open composed uploads: each is continued from its copied part, none copied twice', { timeout: 300_000 }, async () => {
  const s = stack!;
  const p = proxy!;
  const client = s3!;
  await client.send(new PutObjectCommand({ Bucket: 'apks', Key: 'release/app.apk', Body: await readFile(await largeApk()) }));
  const env = {
    ...moto!.env,
    AWS_ENDPOINT_URL_S3: p.endpoint,
    SUBPACK_MASTER_ROOTS: 's3://apks',
    SUBPACK_TARGET_ROOTS: 's3://channels',
    SUBPACK_BATCH_SIZE: String(CHANNELS),
    SUBPACK_PREFETCH: String(CONCURRENT),
  };
  const [, uploader] = await Promise.all([s.start('packer', env), s.start('uploader', env), s.start('retry-scheduler', env)]);
  const tap = await s.eventTap();

  p.hold();
  const taskId = uniqueTaskId('resume');
  const channels = channelIds(CHANNELS);
  await s.publishTask(packTask({ taskId, master: 's3://apks/release/app.apk', target: 's3://channels/out/', channels }));
  await waitFor(`${CONCURRENT} part copies under way`, () => p.heldCount >= CONCURRENT, { timeoutMs: 120_000, detail: () => `${JSON.stringify(p.calls.slice(-20))}\n${uploader.outputTail()}` });
  await uploader.kill();
  assert.equal(storedChannels(tap.messages, taskId).size, 0, 'nothing was stored before the kill');

  // What the crash left: open uploads whose copies the store has not finished.
  const open = (await client.send(new ListMultipartUploadsCommand({ Bucket: 'channels' }))).Uploads ?? [];
  assert.equal(open.length, CONCURRENT, `${CONCURRENT} uploads open at the kill: ${JSON.stringify(open.map((u) => u.Key))}`);
  const openAtKill = new Map(open.map((u) => [`channels/${u.Key!}`, u.UploadId!]));

  const callsBefore = p.calls.length;
  const restarted = await s.start('uploader', env);
  // The restarted uploader finds each upload without its part yet; then the store finishes the copies.
  await waitFor('the restarted uploader looking at every open upload', () => {
    const looked = new Set(p.calls.slice(callsBefore).filter((c) => c.kind === 'ListParts').map((c) => c.object));
    return [...openAtKill.keys()].every((object) => looked.has(object));
  }, { timeoutMs: 60_000, detail: () => restarted.outputTail() });
  await delay(1000);
  p.release();
  const [completed] = await s.waitForEvent(tap, taskId, 'task.completed', 180_000);
  await delay(1000);
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), channels);

  const copies = new Map<string, number>();
  for (const call of p.calls.filter((c) => c.kind === 'UploadPartCopy')) copies.set(call.object, (copies.get(call.object) ?? 0) + 1);
  const twice = [...copies].filter(([, n]) => n !== 1);
  assert.deepEqual(twice, [], `every channel's part 1 was copied exactly once\n${restarted.outputTail()}`);
  assert.equal(copies.size, CHANNELS, 'one copy per channel');
  assert.equal(p.count('AbortMultipartUpload'), 0, `no upload was aborted\n${restarted.outputTail()}`);
  assert.deepEqual(restarted.logRecords().filter((r) => /aborting unfinished upload/.test(String(r.message))), [], 'no abort logged');
  for (const [object, uploadId] of openAtKill) {
    const completes = p.calls.filter((c) => c.kind === 'CompleteMultipartUpload' && c.object === object && c.status === 200);
    assert.deepEqual(completes.map((c) => c.uploadId), [uploadId], `${object}: the upload open at the kill was completed`);
  }
  assert.equal((await client.send(new ListMultipartUploadsCommand({ Bucket: 'channels' }))).Uploads?.length ?? 0, 0, 'no upload left open');

  for (const { event } of eventsFor(tap.messages, taskId, 'channel.stored')) {
    const key = new URL(event.url as string).pathname.slice(1);
    const out = await client.send(new GetObjectCommand({ Bucket: 'channels', Key: key }));
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    assert.equal(createHash('md5').update(bytes).digest('hex'), event.md5, `${key} holds the channel's exact bytes`);
  }
});
