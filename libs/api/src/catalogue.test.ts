import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { StorageRoots } from '@subpack/storage';
import { ChannelLists } from './channel-lists';
import { Destinations, destinationProblems, destinationsField } from './destinations';
import { csvField } from './export';
import { ApiProblem } from './http/problem';
import { redacted, redactedBody } from './redact';

function problemOf(fn: () => unknown): ApiProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiProblem, String(err));
    return err;
  }
  assert.fail('expected a problem');
}

void describe('channel lists', () => {
  let env: TestRedis;
  let lists: ChannelLists;
  before(() => {
    env = openTestRedis();
    lists = new ChannelLists(env.redis, env.prefix, 100);
  });
  after(async () => env.cleanup());

  void it('reads a channels file with Chinese ids, CRLF, comments and extras', () => {
    const channels = lists.parse({ name: 'x', text: '\uFEFF# stores\r\n华为,campaign=spring\r\n\r\nxiaomi # the big one\r\n' });
    assert.deepEqual(channels, [{ id: '华为', extras: { campaign: 'spring' } }, { id: 'xiaomi' }]);
  });

  void it('reports every problem of a text with its line, and of JSON with its index', () => {
    const text = problemOf(() => lists.parse({ name: 'x', text: 'ok\nbad\u202Eid\nok\n<script>\u200B\n' }));
    assert.equal(text.code, 'INVALID_INPUT');
    const lines = (text.extra.errors as { line: number; message: string }[]).map((e) => e.line);
    assert.deepEqual(lines, [2, 3, 4]);
    const json = problemOf(() => lists.parse({ name: 'x', channels: [{ id: 'a' }, { id: '' }, { id: 'a' }, 'nope'] }));
    assert.deepEqual((json.extra.errors as { index: number }[]).map((e) => e.index), [1, 2, 3]);
  });

  void it('refuses a list longer than a task may be, and one that is both text and JSON', () => {
    assert.match(problemOf(() => lists.parse({ name: 'x', text: Array.from({ length: 101 }, (_, i) => `c${i}`).join('\n') })).message, /at most 100/);
    assert.match(problemOf(() => lists.parse({ name: 'x', text: 'a', channels: [] })).message, /either text/);
  });

  void it('stores, pages newest first, replaces and deletes lists', async () => {
    const a = await lists.create({ name: 'a', text: 'one\n' }, 'ops');
    await new Promise((r) => setTimeout(r, 5));
    const b = await lists.create({ name: 'b', channels: [{ id: 'two' }] }, 'ops');
    const page1 = await lists.list({ limit: 1 });
    assert.deepEqual(page1.items.map((l) => l.id), [b.id]);
    const page2 = await lists.list({ limit: 1, cursor: page1.nextCursor! });
    assert.deepEqual(page2.items.map((l) => l.id), [a.id]);
    assert.equal((await lists.replace(a.id, { name: 'a2', text: 'x\ny\n' })).channels.length, 2);
    await lists.delete(a.id);
    await assert.rejects(lists.get(a.id), (err: unknown) => err instanceof ApiProblem && err.code === 'NOT_FOUND');
  });
});

void describe('destinations', () => {
  let env: TestRedis;
  before(() => {
    env = openTestRedis();
  });
  after(async () => env.cleanup());

  void it('parses name=url pairs and reports one outside the target roots', () => {
    const configured = destinationsField('SUBPACK_API_DESTINATIONS').parse('local=file:///srv/out,cloud=s3://bucket/packs');
    assert.deepEqual([...configured.keys()], ['local', 'cloud']);
    assert.deepEqual(destinationProblems(configured, StorageRoots.parse('s3://bucket', 'SUBPACK_TARGET_ROOTS')), ['SUBPACK_API_DESTINATIONS: local=file:///srv/out is outside SUBPACK_TARGET_ROOTS']);
    assert.throws(() => destinationsField('X').parse('bad name=file:///x'), /name=url/);
  });

  void it('lets an admin add one inside the roots only, and never remove a configured one', async () => {
    const d = new Destinations(env.redis, env.prefix, new Map([['local', 'file:///srv/out']]), StorageRoots.parse('file:///srv/out,s3://bucket', 'SUBPACK_TARGET_ROOTS'));
    assert.equal((await d.add('cloud', 's3://bucket/packs')).kind, 's3');
    await assert.rejects(d.add('evil', 's3://other/packs'), (err: unknown) => err instanceof ApiProblem && err.code === 'OUTSIDE_ROOTS');
    await assert.rejects(d.add('cloud', 's3://bucket/x'), (err: unknown) => err instanceof ApiProblem && err.code === 'ALREADY_EXISTS');
    await assert.rejects(d.remove('local'), (err: unknown) => err instanceof ApiProblem && err.code === 'CONFLICT');
    assert.deepEqual((await d.list()).map((x) => `${x.name}:${x.source}`), ['local:configured', 'cloud:added']);
    await d.remove('cloud');
    assert.equal((await d.get('local')).url, 'file:///srv/out');
  });
});

void describe('export and redaction', () => {
  void it('quotes CSV fields and keeps a spreadsheet from running a channel id as a formula', () => {
    assert.equal(csvField('huawei'), 'huawei');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('+1'), "'+1");
    assert.equal(csvField(42), '42');
    assert.equal(csvField(undefined), '');
  });

  void it('masks secrets by key and token-like query parameters', () => {
    assert.deepEqual(redacted({ notify: [{ url: 'https://oapi.dingtalk.com/robot/send?access_token=abc123&x=1', secret: 'whsec_zzz' }], password: 'p' }), {
      notify: [{ url: 'https://oapi.dingtalk.com/robot/send?access_token=***&x=1', secret: '***' }],
      password: '***',
    });
    assert.doesNotMatch(redactedBody(Buffer.from('not json ?token=abc')), /abc/);
  });
});
