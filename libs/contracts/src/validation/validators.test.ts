import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCHEMA_CATALOG, SCHEMA_NAMES } from '../schemas/catalog';
import { PACK_TASK_EXAMPLE, withPackTaskDefaults } from '../schemas/pack-task';
import { MAX_REPORTED_ERRORS } from './describe-errors';
import type { ValidationResult } from './result';
import {
  validateChannelStoreJob,
  validateEvent,
  validateNotifyDelivery,
  validateNotifySubscriptions,
  validatePackBatch,
  validatePackTask,
  eventValidator,
  VALIDATORS_BY_SCHEMA,
} from './validators';

function errorsOf<T>(result: ValidationResult<T>): string[] {
  assert.equal(result.ok, false, 'expected validation to fail');
  return result.ok ? [] : result.errors;
}

function assertValid<T>(result: ValidationResult<T>): T {
  assert.deepEqual(result.ok ? [] : result.errors, []);
  assert.ok(result.ok);
  return result.value;
}

const validTask = (): Record<string, unknown> => structuredClone(PACK_TASK_EXAMPLE);

function taskWith(changes: Record<string, unknown>): Record<string, unknown> {
  return { ...validTask(), ...changes };
}

describe('schema examples', () => {
  for (const name of SCHEMA_NAMES) {
    it(`every example of ${name} passes its validator`, () => {
      const examples = (SCHEMA_CATALOG[name] as { examples?: unknown[] }).examples ?? [];
      assert.ok(examples.length > 0, `${name} has no examples`);
      for (const example of examples) assertValid(VALIDATORS_BY_SCHEMA[name](example));
    });
  }
});

describe('validatePackTask', () => {
  it('returns the task itself, unchanged, when valid', () => {
    const body = validTask();
    const before = structuredClone(body);
    const value = assertValid(validatePackTask(body));
    assert.equal(value, body);
    assert.deepEqual(body, before);
  });

  it('names a missing required field', () => {
    const { target: _target, ...withoutTarget } = validTask();
    assert.deepEqual(errorsOf(validatePackTask(withoutTarget)), ['target: is required']);
  });

  it('names an unknown top-level field', () => {
    const { channels, ...rest } = validTask();
    assert.deepEqual(errorsOf(validatePackTask({ ...rest, chanels: channels })), [
      'channels: is required',
      'unknown field "chanels"',
    ]);
  });

  it('names an unknown nested field by its full path', () => {
    const errors = errorsOf(validatePackTask(taskWith({ notify: { webhook: 'https://h.example.com/', hook: 'x' } })));
    assert.deepEqual(errors, ['unknown field "notify.hook"']);
  });

  it('lists the allowed formats', () => {
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ format: 'zip' }))), [
      'format: must be one of auto, walle, vasdolly, v1-comment, meta-inf',
    ]);
  });

  const badChannelIds: ReadonlyArray<[string, string]> = [
    ['hua\u0000wei', 'must not contain control or invisible characters'],
    ['line\nbreak', 'must not contain control or invisible characters'],
    ['../x', 'must not contain "/" or "\\"'],
    ['a/b', 'must not contain "/" or "\\"'],
    ['a\\b', 'must not contain "/" or "\\"'],
    ['..', 'must not be "." or ".."'],
    ['.', 'must not be "." or ".."'],
    ['', 'must not be empty'],
    ['x'.repeat(129), 'must be at most 128 characters'],
    // Beyond JSON Schema: the shared rules run after the schema passed.
    [' huawei', 'must not have leading or trailing whitespace'],
    ['a\u200Bb', 'must not contain control or invisible characters'],
    ['中'.repeat(43), 'is 129 bytes long (UTF-8), above the limit of 128'],
    ['a\u{E0001}b', 'contains the control or invisible character U+E0001'],
  ];
  for (const [id, message] of badChannelIds) {
    it(`rejects channel id ${JSON.stringify(id.slice(0, 20))} naming the channel`, () => {
      const channels = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id }];
      assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels }))), [`channels[3].id: ${message}`]);
    });
  }

  it('rejects an empty channel list', () => {
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels: [] }))), ['channels: must not be empty']);
  });

  it('rejects extras values that are not strings, task-level and per channel', () => {
    const errors = errorsOf(
      validatePackTask(taskWith({ extras: { build: 42 }, channels: [{ id: 'a', extras: { 'utm-source': true } }] })),
    );
    assert.deepEqual(errors.sort(), ['channels[0].extras["utm-source"]: must be a string', 'extras.build: must be a string']);
  });

  it('rejects extras keys that are empty or contain control characters', () => {
    const errors = errorsOf(validatePackTask(taskWith({ extras: { '': 'x', 'a\u0001': 'y' } })));
    assert.deepEqual(errors, ['extras: key "": must not be empty', 'extras: key "a\\u0001": must not contain control or invisible characters']);
  });

  it('applies the extras limits to what each APK carries: the task extras merged with the channel\'s own', () => {
    const half = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
    const other = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`o${i}`, 'v']));
    assert.ok(validatePackTask(taskWith({ extras: half, channels: [{ id: 'a' }] })).ok);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ extras: half, channels: [{ id: 'a', extras: other }] }))), [
      'channels[0].extras (merged with the task-level extras): has 40 extras, above the limit of 32',
    ]);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ extras: { a: 'é'.repeat(4100) }, channels: [{ id: 'a' }] }))), [
      'extras: has 8201 bytes of extras (UTF-8, keys and values), above the limit of 8192',
    ]);
  });

  it('allows subdirectories in naming templates and checks rendered names in bytes per path segment', () => {
    assert.ok(validatePackTask(taskWith({ naming: '{package}/{versionName}/{channel}.apk' })).ok);
    const longId = '应'.repeat(42); // 126 bytes
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ naming: '{channel}-{channel}-{md5}.apk', channels: [{ id: 'a' }, { id: longId }] }))), [
      `naming: the output name for channels[1] ("${longId.slice(0, 60)}") has a path segment of 290 bytes (UTF-8), above the limit of 255 per file or directory name`,
    ]);
    assert.ok(validatePackTask(taskWith({ naming: '{channel}/{channel}-{md5}.apk', channels: [{ id: longId }] })).ok);
  });

  it('rejects duplicate channel ids, pointing at the first occurrence', () => {
    const channels = [{ id: 'huawei' }, { id: 'xiaomi' }, { id: 'huawei' }];
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels }))), [
      'channels[2].id: duplicates channels[0].id ("huawei")',
    ]);
  });

  it('enforces a configured channel cap', () => {
    const channels = Array.from({ length: 5 }, (_, index) => ({ id: `c${index}` }));
    assert.ok(validatePackTask(taskWith({ channels }), { maxChannels: 5 }).ok);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels }), { maxChannels: 4 })), [
      'channels: has 5 channels; the limit is 4',
    ]);
  });

  it('explains bad task ids, URLs, naming templates and dates', () => {
    const errors = errorsOf(
      validatePackTask(
        taskWith({
          taskId: '-starts-with-dash',
          master: 'http://example.com/app.apk',
          target: '/srv/out',
          naming: '{package}/{chanel}.apk',
          submittedAt: 'yesterday',
        }),
      ),
    );
    assert.deepEqual(errors, [
      'taskId: must start with a letter or digit and contain only letters, digits, ".", "_", ":" and "-"',
      'master: must be a storage URL such as file:///abs/path/master.apk, s3://bucket/key or oss://bucket/key',
      'naming: may only use the placeholders {channel} {package} {versionName} {versionCode} {label} {md5} {sha256}',
      'naming: must contain {channel}, {md5} or {sha256} so that every channel gets its own file name',
      'target: must be a storage URL prefix such as file:///abs/dir/, s3://bucket/prefix/ or oss://bucket/prefix/',
      'submittedAt: must be an RFC 3339 date-time with a time zone, e.g. 2025-06-01T12:00:00Z',
    ]);
  });

  it('accepts s3:// and oss:// URLs and content-addressed naming', () => {
    assertValid(
      validatePackTask(
        taskWith({ master: 's3://bucket/apks/app.apk', target: 'oss://bucket', naming: '{sha256}.apk' }),
      ),
    );
  });

  it('reports a wrong type at the root and wrong types of fields', () => {
    assert.deepEqual(errorsOf(validatePackTask([])), ['(root): must be an object']);
    assert.deepEqual(errorsOf(validatePackTask('{"taskId":1}')), ['(root): must be an object']);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels: 'huawei' }))), ['channels: must be an array']);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ channels: ['huawei'] }))), ['channels[0]: must be an object']);
  });

  it('caps the number of reported errors', () => {
    const channels = Array.from({ length: 50 }, () => ({ id: 'a/b' }));
    const errors = errorsOf(validatePackTask(taskWith({ channels })));
    assert.equal(errors.length, MAX_REPORTED_ERRORS + 1);
    assert.equal(errors.at(-1), `... and ${50 - MAX_REPORTED_ERRORS} more errors`);
  });

  it('fills documented defaults without touching the task', () => {
    const task = assertValid(validatePackTask({ taskId: 't', master: 'file:///a.apk', channels: [{ id: 'x' }], target: 'file:///o/' }));
    const resolved = withPackTaskDefaults(task);
    assert.equal(resolved.format, 'auto');
    assert.equal(resolved.naming, '{package}-{versionName}-{channel}.apk');
    assert.equal(task.format, undefined);
  });
});

describe('validatePackBatch', () => {
  const batch = (): Record<string, unknown> =>
    structuredClone((SCHEMA_CATALOG['pack-batch'].examples as Record<string, unknown>[])[0]!);

  it('names channels only: the recipe is read from the accepted task, never from the batch', () => {
    assertValid(validatePackBatch(batch()));
    assert.deepEqual(errorsOf(validatePackBatch({ ...batch(), master: 'file:///etc/passwd', format: 'walle' })), [
      'unknown field "master"',
      'unknown field "format"',
    ]);
    assert.deepEqual(errorsOf(validatePackBatch({ ...batch(), channels: ['a', 'b', 'a'] })), ['channels[2]: duplicates channels[0] ("a")']);
    assert.deepEqual(errorsOf(validatePackBatch({ ...batch(), channels: ['x\u0000'] })), ['channels[0]: must not contain control or invisible characters']);
  });

  it('rejects a batch index outside the batch count', () => {
    assert.deepEqual(errorsOf(validatePackBatch({ ...batch(), batch: { index: 3, count: 3 } })), [
      'batch.index: must be less than batch.count (3)',
    ]);
  });
});

describe('validateChannelStoreJob', () => {
  const job = (): Record<string, unknown> =>
    structuredClone((SCHEMA_CATALOG['channel-store-job'].examples as Record<string, unknown>[])[0]!);

  it('accepts the slim job and rejects what the uploader must derive itself', () => {
    assertValid(validateChannelStoreJob(job()));
    const { sha256: _sha256, ...withoutDigest } = job();
    assertValid(validateChannelStoreJob(withoutDigest));
    assert.deepEqual(errorsOf(validateChannelStoreJob({ ...job(), sha256: 'z'.repeat(64), tail: 'UEsFBg==', target: 'file:///etc/' })), [
      'unknown field "tail"',
      'unknown field "target"',
      'sha256: must be a SHA-256 digest: 64 lowercase hex digits',
    ]);
  });
});

describe('validateEvent', () => {
  const completed = {
    type: 'task.completed',
    taskId: 't1',
    status: 'done',
    total: 2,
    done: 2,
    failed: 0,
    at: '2025-06-01T12:00:00Z',
  };

  it('picks the schema by type and tolerates unknown fields (events are open for additions)', () => {
    const event = assertValid(validateEvent({ ...completed, region: 'eu' }));
    assert.equal(event.type, 'task.completed');
  });

  it('names an unknown or missing type', () => {
    assert.deepEqual(errorsOf(validateEvent({ ...completed, type: 'task.done' })), [
      'type: must be one of task.accepted, channel.stored, channel.failed, task.completed, task.failed, task.cancelled, retry.scheduled, notify.failed, task.stalled',
    ]);
    const { type: _type, ...untyped } = completed;
    assert.deepEqual(errorsOf(validateEvent(untyped)), ['type: is required']);
    assert.deepEqual(errorsOf(validateEvent(null)), ['(root): must be an object']);
  });

  it('checks that the counts of a cancelled task stay within its total', () => {
    const cancelled = { type: 'task.cancelled', taskId: 't-1', total: 3, done: 1, failed: 1, cancelledBy: 'ops', at: '2025-06-01T12:00:00Z' };
    assert.equal(assertValid(validateEvent(cancelled)).type, 'task.cancelled');
    assert.deepEqual(errorsOf(validateEvent({ ...cancelled, done: 3 })), ['total: must be at least done + failed (4)']);
  });

  it('checks that the counts of a completed task add up', () => {
    assert.deepEqual(errorsOf(eventValidator('task.completed')({ ...completed, done: 1, failed: 0 })), [
      'total: must equal done + failed (1)',
    ]);
    assert.deepEqual(errorsOf(eventValidator('task.completed')({ ...completed, done: 1, failed: 1 })), [
      'status: must be "partial" when failed is 1',
    ]);
  });

  it('names fields of a channel.failed event', () => {
    const errors = errorsOf(
      validateEvent({ type: 'channel.failed', taskId: 't1', channel: 'a', error: { code: '' }, at: 'now' }),
    );
    assert.deepEqual(errors, [
      'error.message: is required',
      'error.code: must not be empty',
      'at: must be an RFC 3339 date-time with a time zone, e.g. 2025-06-01T12:00:00Z',
    ]);
  });
});

describe('notify', () => {
  it('accepts the single-webhook form and a list of subscriptions', () => {
    assertValid(validatePackTask(taskWith({ notify: { webhook: 'https://h.example.com/x', level: 'warn' } })));
    assertValid(validatePackTask(taskWith({ notify: [{ url: 'https://h.example.com/x' }, { url: 'https://oapi.dingtalk.com/robot/send?access_token=t', format: 'dingtalk', level: 'error', secret: 'SECabc' }] })));
  });

  it('names problems of the form the value has, not of the other form', () => {
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ notify: [{ url: 'ftp://h.example.com/', format: 'slack' }] }))), [
      'notify[0].url: must be an http:// or https:// URL',
      'notify[0].format: must be one of json, dingtalk, wecom, feishu',
    ]);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ notify: 'https://h.example.com/' }))), ['notify: must be an array or an object']);
    assert.deepEqual(errorsOf(validatePackTask(taskWith({ notify: [] }))), ['notify: must not be empty']);
  });

  it('checks secrets by format without quoting them', () => {
    const errors = errorsOf(
      validatePackTask(
        taskWith({
          notify: [
            { url: 'https://a.example/', secret: 'plain-text-secret' },
            { url: 'https://b.example/', secret: 'whsec_YQ==', secretRef: 'B' },
            { url: 'https://c.example/', format: 'wecom', secretRef: 'C' },
          ],
        }),
      ),
    );
    assert.deepEqual(errors, [
      'notify[0].secret: must be a Standard Webhooks secret: whsec_ followed by base64',
      'notify[1]: give either secret or secretRef, not both',
      'notify[2]: wecom robots take no secret (the key is in the URL)',
    ]);
    assert.ok(!errors.join(' ').includes('plain-text-secret'));
  });

  it('validates configured subscription lists with the given path', () => {
    assert.deepEqual(errorsOf(validateNotifySubscriptions({ url: 'https://a.example/' }, 'SUBS')), ['SUBS: must be a list of subscriptions']);
    assert.deepEqual(errorsOf(validateNotifySubscriptions([{ url: 'https://a.example/', hook: 1 }], 'SUBS')), ['SUBS[0]: unknown field "hook"']);
    assert.equal(assertValid(validateNotifySubscriptions([{ url: 'https://a.example/', secretRef: 'A' }], 'SUBS')).length, 1);
  });

  it('checks every event of a delivery and that they belong to its task', () => {
    const completed = { type: 'task.completed', taskId: 't1', status: 'done', total: 1, done: 1, failed: 0, at: '2025-06-01T12:00:00Z' };
    const delivery = { deliveryId: 'd1', taskId: 't1', subscription: { source: 'task', key: 'ab12' }, events: [completed] };
    assertValid(validateNotifyDelivery(delivery));
    assert.deepEqual(errorsOf(validateNotifyDelivery({ ...delivery, events: [{ ...completed, taskId: 't2' }] })), ["events[0].taskId: must be the delivery's taskId"]);
    assert.deepEqual(errorsOf(validateNotifyDelivery({ ...delivery, events: [{ ...completed, done: 0 }] })), ['events[0].total: must equal done + failed (0)']);
    assert.deepEqual(errorsOf(validateNotifyDelivery({ ...delivery, subscription: { source: 'elsewhere', key: 'XYZ' } })), [
      'subscription.source: must be one of task, global',
      'subscription.key: must be lowercase hex',
    ]);
  });
});
