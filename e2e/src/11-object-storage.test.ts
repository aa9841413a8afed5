// The distributed path with object storage: an s3:// master and target on moto's S3 server, channels composed in the
// store; kill -9 of the uploader while a multipart upload is open; bad storage input parked at once, no secret shown.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { packChannels } from '@subpack/pack';
import { openMaster, openTarget } from '@subpack/storage';
import { FakeOss, largeApk, standardApk, startMoto, type MotoServer } from '@subpack/testing';
import { channelIds, checkChannelApks, delay, E2eStack, eventsFor, fileTargetUrl, fileUrl, headerText, packTask, storedChannels, uniqueTaskId } from './harness';

const CHANNELS = 24;
const OSS_SECRET = 'e2e-oss-secret-must-not-leak';
let stack: E2eStack;
let moto: MotoServer;
let oss: FakeOss;
let s3: S3Client;

before(async () => {
  [stack, moto, oss] = await Promise.all([
    E2eStack.create('cloud', { retryTiers: '1s,2s' }),
    startMoto(),
    FakeOss.start({ accessKeyId: 'e2e-oss-key', accessKeySecret: OSS_SECRET, region: 'cn-shanghai' }),
  ]);
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  for (const bucket of ['apks', 'channels']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

after(async () => {
  await stack?.cleanup();
  s3?.destroy();
  await Promise.all([moto?.stop(), oss?.stop()]);
});

/** Every service talks to moto; OSS is configured against the fake, but with a wrong secret. */
function storageEnv(): Record<string, string> {
  return { ...moto.env, ...oss.env, ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'wrong-secret-for-e2e' };
}

const SERVICE_ENV = (): Record<string, string> => ({
  ...storageEnv(),
  // The buckets this file's tasks name are the stores' roots.
  SUBPACK_MASTER_ROOTS: 's3://apks,oss://oss-apks',
  SUBPACK_TARGET_ROOTS: 's3://channels,s3://no-such-bucket',
  SUBPACK_BATCH_SIZE: '6',
  SUBPACK_PREFETCH: '2',
});
let started: Promise<unknown> | undefined;

/** One packer, uploader and retry scheduler for the file's tests, started on first use. */
function services(): Promise<unknown> {
  const env = SERVICE_ENV();
  started ??= Promise.all([stack.start('packer', env), stack.start('uploader', env), stack.start('retry-scheduler', env)]);
  return started;
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function openUploads(bucket: string): Promise<number> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return out.Uploads?.length ?? 0;
}

test('s3:// master and target: kill -9 of the uploader during a multipart upload; every object once, as the local pack', { timeout: 300_000 }, async (t) => {
  const masterFile = await largeApk();
  await s3.send(new PutObjectCommand({ Bucket: 'apks', Key: 'release/app.apk', Body: await readFile(masterFile) }));
  await services();
  const uploader = stack.services.find((s) => s.name === 'uploader')!;
  const tap = await stack.eventTap();

  const taskId = uniqueTaskId('cloud');
  const channels = channelIds(CHANNELS);
  await stack.publishTask(packTask({ taskId, master: 's3://apks/release/app.apk', target: 's3://channels/out/', channels }));

  // Kill while a composition is under way: some channels stored, and an upload open in the store.
  let openAtKill = 0;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (storedChannels(tap.messages, taskId).size >= 2) {
      openAtKill = await openUploads('channels');
      if (openAtKill > 0) break;
    }
    await delay(5);
  }
  await uploader.kill();
  const storedAtKill = storedChannels(tap.messages, taskId).size;
  assert.ok(openAtKill > 0, `the uploader was killed with a multipart upload open (${storedAtKill} stored)\n${stack.describe(tap)}`);
  assert.ok(storedAtKill < CHANNELS, `killed mid-task (${storedAtKill} of ${CHANNELS} stored)`);

  await stack.start('uploader', SERVICE_ENV());
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 180_000);
  await delay(2000);
  assert.equal(eventsFor(tap.messages, taskId, 'task.completed').length, 1, 'exactly one task.completed');
  assert.equal(completed!.event.status, 'done', JSON.stringify(completed!.event));
  assert.deepEqual([...storedChannels(tap.messages, taskId)].sort(), channels);
  t.diagnostic(`killed with ${openAtKill} upload(s) open after ${storedAtKill} stored`);

  // Exactly one object per channel, no unfinished upload left behind, and each object is the local pack's bytes.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'channels', Prefix: 'out/' }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
  assert.equal(keys.length, CHANNELS, keys.join(', '));
  assert.equal(await openUploads('channels'), 0, 'interrupted uploads were continued or aborted');

  const localDir = join(stack.workDir, 'local');
  const local = await packChannels(await openMaster(fileUrl(masterFile)), openTarget(fileTargetUrl(localDir)), channels.map((id) => ({ id, extras: {} })), {
    format: 'auto', naming: '{package}-{versionName}-{channel}.apk', extras: {}, digests: true,
  });
  const stored = new Map(eventsFor(tap.messages, taskId, 'channel.stored').map((e) => [e.event.channel as string, e.event]));
  const downloaded = new Map<string, string>();
  for (const r of local.results) {
    const event = stored.get(r.channel)!;
    assert.equal(event.md5, r.md5, `${r.channel}: the event's MD5 is the local pack's`);
    const key = new URL(event.url as string).pathname.slice(1);
    const bytes = await objectBytes('channels', key);
    assert.ok(bytes.equals(await readFile(new URL(r.url))), `${r.channel}: the object is byte-identical to the local pack`);
    assert.equal(createHash('md5').update(bytes).digest('hex'), r.md5);
    if (downloaded.size < 4) {
      const file = join(stack.workDir, `dl-${r.channel}.apk`);
      await writeFile(file, bytes);
      downloaded.set(file, r.channel);
    }
  }
  assert.deepEqual(await checkChannelApks(downloaded, 2), [], 'downloaded objects verify and carry their channel');
});

test('bad storage input is parked at once with bucket and key named and no secret: missing key, missing bucket, refused keys', { timeout: 180_000 }, async () => {
  await s3.send(new PutObjectCommand({ Bucket: 'apks', Key: 'small/app.apk', Body: await readFile(await standardApk('v1v2v3')) }));
  oss.createBucket('oss-apks');
  oss.putObject('oss-apks', 'app.apk', await readFile(await standardApk('v1v2v3')));
  await services();
  const tap = await stack.eventTap();
  const parked = await stack.parkedSpy();
  const retried = await stack.retrySpy();

  const missingKey = uniqueTaskId('nokey');
  const missingBucket = uniqueTaskId('nobucket');
  const refused = uniqueTaskId('refused');
  const small = uniqueTaskId('small');
  await stack.publishTask(packTask({ taskId: missingKey, master: 's3://apks/release/missing.apk', target: 's3://channels/x/', channels: channelIds(2) }));
  await stack.publishTask(packTask({ taskId: missingBucket, master: 's3://apks/small/app.apk', target: 's3://no-such-bucket/x/', channels: channelIds(2) }));
  await stack.publishTask(packTask({ taskId: refused, master: 'oss://oss-apks/app.apk', target: 's3://channels/oss/', channels: channelIds(2) }));
  // A prefix below S3's 5 MiB minimum part: not an error, a streamed upload.
  await stack.publishTask(packTask({ taskId: small, master: 's3://apks/small/app.apk', target: 's3://channels/small/', channels: channelIds(3) }));

  const [noKey] = await stack.waitForEvent(tap, missingKey, 'task.failed', 60_000);
  assert.match(noKey!.event.error!.message!, /s3:\/\/apks\/release\/missing\.apk does not exist \(bucket apks, key release\/missing\.apk\)/);
  const [noAuth] = await stack.waitForEvent(tap, refused, 'task.failed', 60_000);
  assert.match(noAuth!.event.error!.message!, /oss:\/\/oss-apks\/app\.apk.*SignatureDoesNotMatch/);
  // Nothing could be stored: the task fails, with the channels' reasons summed up, rather than completing "partial".
  const [noBucket] = await stack.waitForEvent(tap, missingBucket, 'task.failed', 60_000);
  assert.equal(noBucket!.event.error!.code, 'ALL_CHANNELS_FAILED', JSON.stringify(noBucket!.event));
  // The same words as `subpack pack` says them, after the file name the uploader was storing.
  const said = `target bucket no-such-bucket does not exist (endpoint ${moto.endpoint})`;
  assert.ok(noBucket!.event.error!.message!.startsWith('no channel was stored; 2 channels failed: 2 PARKED (e.g. '), noBucket!.event.error!.message);
  assert.ok(noBucket!.event.error!.message!.includes(said), noBucket!.event.error!.message);
  assert.equal(eventsFor(tap.messages, missingBucket, 'task.completed').length, 0);
  const failedChannels = eventsFor(tap.messages, missingBucket, 'channel.failed');
  assert.equal(failedChannels.length, 2);
  for (const f of failedChannels) {
    assert.match(f.event.error!.message!, /^storing \S+\.apk to s3:\/\/no-such-bucket\/x\/ failed: /);
    assert.ok(f.event.error!.message!.endsWith(said), f.event.error!.message);
  }
  const [done] = await stack.waitForEvent(tap, small, 'task.completed', 60_000);
  assert.equal(done!.event.status, 'done', JSON.stringify(done!.event));

  await delay(2500);
  assert.equal(retried.messages.length, 0, 'nothing went through a retry tier');
  assert.ok(parked.messages.length >= 4, `the two tasks and the two channels were parked: ${parked.messages.length}`);
  for (const m of parked.messages) {
    const reason = headerText(m, 'x-subpack-error');
    assert.equal(m.headers['x-subpack-error-class'], 'permanent', reason);
    for (const secret of [OSS_SECRET, 'wrong-secret-for-e2e', moto.env.AWS_SECRET_ACCESS_KEY!]) assert.ok(!reason.includes(secret), `no secret in ${reason}`);
  }
  for (const s of stack.services) {
    for (const secret of ['wrong-secret-for-e2e', moto.env.AWS_SECRET_ACCESS_KEY!]) assert.ok(!s.outputTail().includes(secret), `${s.name} never logs a secret`);
  }
});
