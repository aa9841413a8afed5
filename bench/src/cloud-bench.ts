// npm run bench:cloud — channels of a 300 MB master already in an S3 store (moto's server), composed in the store and
// streamed, in the same run: client bytes sent per channel as a fraction of the master, and channels/s.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { packChannels } from '@subpack/pack';
import { DEFAULT_NAMING } from '@subpack/rules';
import { S3Store, objectStores, openMaster, openTarget, storeSettings } from '@subpack/storage';
import { startMoto } from '@subpack/testing';
import { benchMaster } from './measure';
import { NEEDS, preflight } from './preflight';

const MASTER_MB = Number(process.env.SUBPACK_BENCH_CLOUD_MB ?? 300);
const CHANNELS = Number(process.env.SUBPACK_BENCH_CLOUD_CHANNELS ?? 20);
/** The composed path must send at most this fraction of the master per channel. */
const COMPOSED_TARGET = 0.01;

function sentBytes(): number {
  return objectStores().reduce((n, s) => n + s.sentBytes, 0);
}

/** The master goes up as a multipart upload of 64 MiB parts: one 300 MB PUT is very slow on moto's server. */
async function putInParts(file: string, size: number): Promise<void> {
  const store = new S3Store(storeSettings('s3', 'bench', 'master.apk'));
  const partBytes = 64 * 1024 * 1024;
  const uploadId = await store.createUpload('bench', 'master.apk', {}, 'application/vnd.android.package-archive');
  const parts = [];
  for (let start = 0, n = 1; start < size; start += partBytes, n++) {
    const end = Math.min(size, start + partBytes);
    parts.push({ partNumber: n, etag: await store.uploadPart('bench', 'master.apk', uploadId, n, createReadStream(file, { start, end: end - 1 }), end - start) });
  }
  await store.complete('bench', 'master.apk', uploadId, parts);
}

async function main(): Promise<number> {
  await preflight('bench:cloud', [NEEDS.android, NEEDS.moto]);
  const master = await benchMaster(MASTER_MB);
  const size = (await stat(master)).size;
  const moto = await startMoto();
  try {
    Object.assign(process.env, moto.env);
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    await putInParts(master, size);
    const channels = Array.from({ length: CHANNELS }, (_, i) => ({ id: `ch-${String(i + 1).padStart(2, '0')}`, extras: {} }));
    process.stdout.write(`master ${(size / 1e6).toFixed(1)} MB in s3://bench/master.apk (moto ${moto.endpoint}), ${CHANNELS} channels per mode\n`);
    process.stdout.write('| mode | client bytes sent per channel | of the master | channels/s |\n|---|---|---|---|\n');
    let ok = true;
    for (const mode of ['composed', 'streamed'] as const) {
      const source = await openMaster('s3://bench/master.apk');
      const before = sentBytes();
      const deletes: Promise<unknown>[] = [];
      const started = process.hrtime.bigint();
      const { results, failures } = await packChannels(
        source,
        openTarget(`s3://bench/${mode}/`, { compose: mode === 'composed', log: () => undefined }),
        channels,
        { format: 'auto', naming: DEFAULT_NAMING, extras: {}, digests: true },
        {
          // Each channel object is dropped once written, so the store holds one at a time; the delete is in the timing.
          onResult: (r) => {
            deletes.push(s3.send(new DeleteObjectCommand({ Bucket: 'bench', Key: new URL(r.url).pathname.slice(1) })));
          },
        },
      );
      // Awaited before the clock stops and before moto stops: a delete still in flight would otherwise fail later.
      await Promise.all(deletes);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (failures.length > 0) throw new Error(`${mode}: ${failures.length} channels failed: ${failures[0]!.error}`);
      const perChannel = (sentBytes() - before) / results.length;
      const fraction = perChannel / size;
      if (mode === 'composed' && fraction > COMPOSED_TARGET) ok = false;
      process.stdout.write(`| ${mode} | ${(perChannel / 1e6).toFixed(3)} MB | ${(fraction * 100).toFixed(3)}% | ${(results.length / seconds).toFixed(2)} |\n`);
    }
    s3.destroy();
    process.stdout.write(`target: composed ≤ ${COMPOSED_TARGET * 100}% of the master per channel: ${ok ? 'met' : 'MISSED'}\n`);
    return ok ? 0 : 1;
  } finally {
    await moto.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:cloud failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
