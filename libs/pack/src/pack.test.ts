import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackInputError } from './errors';
import { channelIdProblem, parseChannelList, validateChannels, DEFAULT_CHANNEL_LIMITS } from './channels';
import { assertUniqueNames, checkNameTemplate, renderName, templateNeedsDigests } from './naming';

const values = { channel: 'c', package: 'com.x', versionName: '1.0', versionCode: '7', label: 'L', md5: 'm', sha256: 's' };

test('channel list: comments, extras, BOM, CRLF and line-numbered errors', () => {
  const list = parseChannelList('\uFEFF# header\r\nhuawei\r\n  oppo , campaign=spring,partner = p7 # trailing\r\n\r\n应用宝\n', 'ch.txt');
  assert.deepEqual(list, [
    { id: 'huawei', extras: {} },
    { id: 'oppo', extras: { campaign: 'spring', partner: 'p7' } },
    { id: '应用宝', extras: {} },
  ]);
  assert.throws(() => parseChannelList('ok\nbad/one\n', 'ch.txt'), /ch\.txt line 2: channel "bad\/one" contains a path separator/);
  assert.throws(() => parseChannelList('ok,novalue\n', 'ch.txt'), /ch\.txt line 1: extra "novalue" is not key=value/);
});

test('channel ids: hostile names are refused with the reason', () => {
  assert.equal(channelIdProblem('huawei'), null);
  assert.match(channelIdProblem('')!, /empty/);
  assert.match(channelIdProblem('..')!, /names a directory/);
  assert.match(channelIdProblem('a\\b')!, /path separator/);
  assert.match(channelIdProblem('a\u0000b')!, /U\+0000/);
  assert.match(channelIdProblem('a\u200Bb')!, /U\+200B/);
  assert.match(channelIdProblem(' a')!, /whitespace/);
  assert.match(channelIdProblem('x'.repeat(129))!, /129 bytes long, above the limit of 128/);
});

test('a whole list is checked at once: duplicates, caps and reserved keys', () => {
  assert.throws(
    () =>
      validateChannels([
        { id: 'a', extras: {} },
        { id: 'a', extras: { channel: 'x' } },
        { id: 'b', extras: { k: 'v'.repeat(9000) } },
      ]),
    (e: unknown) => {
      assert.ok(e instanceof PackInputError);
      assert.match(e.message, /channel 2 "a" is listed more than once/);
      assert.match(e.message, /reserved extra key "channel"/);
      assert.match(e.message, /channel 3 "b" has 9001 bytes of extras, above the limit of 8192/);
      return true;
    },
  );
  assert.throws(() => validateChannels([], DEFAULT_CHANNEL_LIMITS), /channel list is empty/);
  assert.throws(() => validateChannels([{ id: 'a', extras: {} }, { id: 'b', extras: {} }], { ...DEFAULT_CHANNEL_LIMITS, maxChannels: 1 }), /2 channels, above the limit of 1/);
});

test('naming: placeholders, subdirectories, and nothing escapes the output directory', () => {
  checkNameTemplate('{package}/{versionCode}-{channel}.apk');
  assert.throws(() => checkNameTemplate('{bogus}.apk'), /unknown placeholder \{bogus\}/);
  assert.throws(() => checkNameTemplate('/abs/{channel}.apk'), /relative path inside/);
  assert.throws(() => checkNameTemplate('../{channel}.apk'), /relative path inside/);
  assert.equal(renderName('{package}/{channel}-{md5}.apk', values, '/out'), 'com.x/c-m.apk');
  // Values from the APK cannot add path structure.
  assert.equal(renderName('{label}.apk', { ...values, label: '../../etc/passwd' }, '/out'), '.._.._etc_passwd.apk');
  assert.equal(renderName('{label}', { ...values, label: '..' }, '/out'), '__');
  assert.ok(templateNeedsDigests('{sha256}.apk') && !templateNeedsDigests('{channel}.apk'));
  assert.throws(() => assertUniqueNames([{ channel: 'a', name: 'x.apk' }, { channel: 'b', name: 'x.apk' }]), /"a" and "b" both produce "x.apk"/);
});
