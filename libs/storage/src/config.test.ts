import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rm, writeFile } from 'node:fs/promises';
import { describeConfig, loadConfig } from '@subpack/config';
import { isBadInput } from '@subpack/rules';
import { makeTempDir, removeDir } from '@subpack/testing';
import { STORAGE_CONFIG, StorageConfigError, ossConfigured, storageConfig, storeSettings } from './config';

const MIB = 1024 * 1024;

test('unset, the storage settings take their defaults', () => {
  const s3 = storeSettings('s3', 'bucket', 'key', {});
  assert.deepEqual([s3.partBytes, s3.concurrency, s3.staleUploadMs, s3.forcePathStyle], [16 * MIB, 4, 24 * 3600 * 1000, false]);
  assert.deepEqual([s3.endpoint, s3.region, s3.credentials], [undefined, undefined, undefined]);
  assert.equal(ossConfigured({}), false);
});

test('set, they reach the store settings, the more specific variable first', () => {
  const env = {
    SUBPACK_UPLOAD_PART_MB: '5.5',
    SUBPACK_UPLOAD_CONCURRENCY: '2',
    SUBPACK_STALE_UPLOAD_HOURS: '0.5',
    SUBPACK_S3_FORCE_PATH_STYLE: 'true',
    AWS_ENDPOINT_URL_S3: 'http://minio:9000',
    AWS_ENDPOINT_URL: 'http://other:9000',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'id',
    AWS_SECRET_ACCESS_KEY: 'secret',
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'oss-id',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'oss-secret',
    OSS_REGION: 'cn-hangzhou',
  };
  const s3 = storeSettings('s3', 'bucket', 'key', env);
  assert.deepEqual([s3.partBytes, s3.concurrency, s3.staleUploadMs, s3.forcePathStyle], [Math.round(5.5 * MIB), 2, 1800 * 1000, true]);
  assert.deepEqual([s3.endpoint, s3.region, s3.credentials], ['http://minio:9000', 'eu-west-1', { accessKeyId: 'id', secretAccessKey: 'secret' }]);
  const oss = storeSettings('oss', 'bucket', 'key', env);
  assert.deepEqual([oss.region, oss.endpoint, oss.credentials], ['cn-hangzhou', undefined, { accessKeyId: 'oss-id', secretAccessKey: 'oss-secret' }]);
  assert.equal(ossConfigured(env), true);
});

test('a bad value is refused naming the variable and the value, every problem at once; a secret is never echoed', () => {
  const bad = {
    SUBPACK_UPLOAD_PART_MB: 'abc',
    SUBPACK_UPLOAD_CONCURRENCY: '0',
    SUBPACK_STALE_UPLOAD_HOURS: '-1',
    SUBPACK_S3_FORCE_PATH_STYLE: 'yes',
    AWS_ENDPOINT_URL: 'minio:9000',
    AWS_SECRET_ACCESS_KEY: '   ',
  };
  assert.throws(() => storeSettings('s3', 'bucket', 'key', bad), (err: unknown) => {
    assert.ok(err instanceof StorageConfigError);
    assert.match(err.message, /SUBPACK_UPLOAD_PART_MB="abc" must be a positive number of MiB/);
    assert.match(err.message, /SUBPACK_UPLOAD_CONCURRENCY="0" must be a positive number/);
    assert.match(err.message, /SUBPACK_STALE_UPLOAD_HOURS="-1" must be a positive number of hours/);
    assert.match(err.message, /SUBPACK_S3_FORCE_PATH_STYLE="yes" must be true or false/);
    assert.match(err.message, /AWS_ENDPOINT_URL="minio:9000" must use http: or https:/);
    assert.match(err.message, /AWS_SECRET_ACCESS_KEY=\(value hidden\) is empty/);
    assert.ok(!err.message.includes('\n'), 'one line');
    // To the CLI, its environment is its user's input: exit 2 with this line.
    assert.equal(isBadInput(err), true);
    return true;
  });
  for (const [name, value] of [['SUBPACK_UPLOAD_PART_MB', '0'], ['SUBPACK_UPLOAD_PART_MB', 'Infinity'], ['SUBPACK_UPLOAD_CONCURRENCY', ' ']]) {
    assert.throws(() => storageConfig({ [name!]: value }), (err: unknown) => err instanceof StorageConfigError && err.message.startsWith(`${name}=`), `${name}=${value}`);
  }
});

test('the profile file is read and checked once, when the settings are first loaded: later tasks use what was checked', async () => {
  const dir = await makeTempDir('storage-config');
  try {
    const file = join(dir, 'profiles.json');
    await writeFile(file, JSON.stringify({ stores: [{ match: 's3://ks3-bucket', endpoint: 'https://ks3.example', region: 'BEIJING' }] }));
    // What a service does at start (runService loads STORAGE_CONFIG with the rest of its configuration).
    loadConfig(STORAGE_CONFIG, { SUBPACK_STORAGE_PROFILES: file });
    await rm(file);
    assert.equal(storeSettings('s3', 'ks3-bucket', 'a.apk', { SUBPACK_STORAGE_PROFILES: file }).endpoint, 'https://ks3.example');
    const missing = join(dir, 'missing.json');
    assert.throws(() => loadConfig(STORAGE_CONFIG, { SUBPACK_STORAGE_PROFILES: missing }), /SUBPACK_STORAGE_PROFILES=".*missing\.json" cannot read .*missing\.json: ENOENT/);
  } finally {
    await removeDir(dir);
  }
});

test('every storage variable is declared, with the secrets marked', () => {
  const names = describeConfig(STORAGE_CONFIG).map((v) => v.env);
  for (const name of [
    'SUBPACK_STORAGE_PROFILES', 'SUBPACK_UPLOAD_PART_MB', 'SUBPACK_UPLOAD_CONCURRENCY', 'SUBPACK_STALE_UPLOAD_HOURS', 'SUBPACK_S3_FORCE_PATH_STYLE',
    'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
    'ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'OSS_REGION', 'OSS_ENDPOINT',
  ]) {
    assert.ok(names.includes(name), name);
  }
  assert.ok(describeConfig(STORAGE_CONFIG).every((v) => !v.required), 'none is required: unset, a store uses its defaults');
  const secrets = Object.values(STORAGE_CONFIG).filter((f) => f.secret === true).map((f) => f.env);
  assert.deepEqual(secrets.sort(), ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'AWS_SECRET_ACCESS_KEY']);
});
