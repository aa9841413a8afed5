// The object-storage settings are configuration like any other: listed by --print-config, checked when a service
// starts, and a bad one stops the service with exit 78 naming the variable before it takes a single task, so a
// deployment mistake never parks a publisher's task.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { QUEUES } from '@subpack/rules';
import { standardApk } from '@subpack/testing';
import { channelIds, eventsFor, listTarget, REPO_ROOT, stackPerFile } from './harness';

const STORAGE_VARIABLES = [
  'SUBPACK_STORAGE_PROFILES',
  'SUBPACK_UPLOAD_PART_MB',
  'SUBPACK_UPLOAD_CONCURRENCY',
  'SUBPACK_STALE_UPLOAD_HOURS',
  'SUBPACK_S3_FORCE_PATH_STYLE',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'OSS_REGION',
  'OSS_ENDPOINT',
];

const stack = stackPerFile('storagecfg');

test('the services that touch storage list every storage variable in --print-config', () => {
  for (const name of ['packer', 'uploader', 'serve']) {
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'services', name, 'dist', 'main.js'), '--print-config'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
    assert.equal(run.status, 0, run.stderr);
    const listed = new Map((JSON.parse(run.stdout) as { env: string; default?: unknown }[]).map((v) => [v.env, v]));
    for (const variable of STORAGE_VARIABLES) assert.ok(listed.has(variable), `${name} lists ${variable}`);
    assert.equal(listed.get('SUBPACK_UPLOAD_PART_MB')?.default, 16);
  }
});

test('a bad storage value stops the packer and the uploader at start with exit 78, naming the variable', { timeout: 120_000 }, async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SUBPACK_UPLOAD_PART_MB: 'abc' }, /SUBPACK_UPLOAD_PART_MB="abc" must be a positive number of MiB/],
    [{ SUBPACK_UPLOAD_PART_MB: '0' }, /SUBPACK_UPLOAD_PART_MB="0" must be a positive number of MiB/],
    [{ SUBPACK_S3_FORCE_PATH_STYLE: 'yes' }, /SUBPACK_S3_FORCE_PATH_STYLE="yes" must be true or false/],
    [{ SUBPACK_STORAGE_PROFILES: join(stack.workDir, 'no-such-profiles.json') }, /SUBPACK_STORAGE_PROFILES=".*no-such-profiles\.json" cannot read .*: ENOENT/],
  ];
  for (const name of ['packer', 'uploader'] as const) {
    for (const [env, named] of cases) {
      const service = await stack.launch(name, env);
      const status = await service.exited;
      assert.equal(status.code, 78, `${name} with ${JSON.stringify(env)} exits with EX_CONFIG\n${service.outputTail()}`);
      assert.match(service.outputTail(), named);
      assert.doesNotMatch(service.outputTail(), /\n\s+at /, 'no stack trace');
    }
  }
});

test('a task waiting while a packer with a bad storage value starts and stops is left for a correctly configured packer', { timeout: 180_000 }, async () => {
  const master = await standardApk('v1v2v3');
  const targetDir = await stack.makeDir('target');
  // A first packer declares the queues, then leaves; the task waits for the next one.
  const [first] = await Promise.all([stack.start('packer'), stack.start('uploader')]);
  await first.stop();
  const tap = await stack.eventTap();
  const taskId = await stack.sendTask({ label: 'storagecfg', master, target: targetDir, channels: channelIds(3) });
  assert.equal(await stack.queueMessageCount(QUEUES.packerTasks), 1);

  const misconfigured = await stack.launch('packer', { SUBPACK_UPLOAD_PART_MB: 'abc' });
  assert.equal((await misconfigured.exited).code, 78, misconfigured.outputTail());
  assert.equal(await stack.queueMessageCount(QUEUES.packerTasks), 1, 'the task is still waiting');
  assert.equal(eventsFor(tap.messages, taskId, 'task.failed').length, 0, 'and was not failed');

  await stack.start('packer');
  const [completed] = await stack.waitForEvent(tap, taskId, 'task.completed', 60_000);
  assert.deepEqual([completed!.event.status, completed!.event.done], ['done', 3]);
  assert.equal((await listTarget(targetDir)).length, 3);
  assert.equal(eventsFor(tap.messages, taskId, 'task.failed').length, 0);
});
