import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackInputError } from './errors';
import { idsWithSpaces, parseChannelArguments, parseChannelList, parseChannelOption, validateChannels } from './channels';
import { assertUniqueNames, checkNameTemplate, renderName } from './naming';

const values = { channel: 'c', package: 'com.x', versionName: '1.0', versionCode: '7', label: 'L', md5: 'm', sha256: 's' };

test('channel list: comments, extras, BOM, CRLF and line-numbered errors', () => {
  const list = parseChannelList('\uFEFF# header\r\nhuawei\r\noppo,campaign=spring,partner=p7 \t# trailing\r\n\r\n  \r\n应用宝\nHuawei Store,note= two words \n', 'ch.txt');
  assert.deepEqual(list, [
    { id: 'huawei', extras: {} },
    { id: 'oppo', extras: { campaign: 'spring', partner: 'p7' } },
    { id: '应用宝', extras: {} },
    { id: 'Huawei Store', extras: { note: ' two words ' } },
  ]);
  assert.deepEqual(idsWithSpaces(list), ['Huawei Store']);
  assert.throws(() => parseChannelList('ok\nbad/one\n', 'ch.txt'), /ch\.txt line 2: channel "bad\/one" contains a path separator/);
  assert.throws(() => parseChannelList('ok,novalue\n', 'ch.txt'), /ch\.txt line 1: extra "novalue" is not key=value/);
});

test('channel list: ids are checked as written, never trimmed', () => {
  assert.throws(() => parseChannelList('ok\n oppo\n', 'ch.txt'), /^PackInputError: ch\.txt line 2: channel " oppo" has leading or trailing whitespace$/);
  assert.throws(() => parseChannelList('huawei \r\n', 'ch.txt'), /ch\.txt line 1: channel "huawei " has leading or trailing whitespace/);
  assert.throws(() => parseChannelList('huawei\t\n', 'ch.txt'), /channel "huawei\\t" contains the control or invisible character U\+0009/);
  assert.throws(() => parseChannelList('oppo ,k=v\n', 'ch.txt'), /channel "oppo " has leading or trailing whitespace/);
  // Extra keys follow the same rule as in a task: a space after the comma is part of the key.
  assert.throws(() => parseChannelList('oppo, k=v\n', 'ch.txt'), /^PackInputError: ch\.txt line 1: channel "oppo" has an extra key " k" that has leading or trailing whitespace$/);
});

test('channel list: a duplicate names its line and the first one', () => {
  assert.throws(() => parseChannelList('# list\nhuawei\noppo\nhuawei # again\n', 'ch.txt'), /^PackInputError: ch\.txt line 4: channel "huawei" is listed more than once \(first on line 2\)$/);
  assert.deepEqual(parseChannelArguments(['a,k=v'], { text: 'b\n', label: 'ch.txt' }), [{ id: 'a', extras: { k: 'v' } }, { id: 'b', extras: {} }]);
  assert.throws(() => parseChannelArguments(['b'], { text: 'a\n# x\nb\n', label: 'ch.txt' }), /^PackInputError: ch\.txt line 3: channel "b" is listed more than once \(also given with --channel\)$/);
  assert.throws(() => parseChannelArguments(['b', 'b']), /^PackInputError: --channel: channel "b" is listed more than once \(also given with --channel\)$/);
});

test('--channel: one entry, no comment or line syntax, errors name the option', () => {
  assert.deepEqual(parseChannelOption('a#b,k=v'), { id: 'a#b', extras: { k: 'v' } });
  assert.throws(() => parseChannelOption('huawei '), /^PackInputError: --channel: channel "huawei " has leading or trailing whitespace$/);
  assert.throws(() => parseChannelOption('a\nb'), /^PackInputError: --channel: channel "a\\nb" contains the control or invisible character U\+000A$/);
});

test('channel list: a hostile id is refused with its line and reason', () => {
  assert.throws(() => parseChannelList('ok\na\u200Bb\n', 'ch.txt'), /ch\.txt line 2: channel "a\\u200bb" contains the control or invisible character U\+200B/);
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
      assert.match(e.message, /channel 2 "a" has an extra key "channel" that is reserved for the channel id/);
      assert.match(e.message, /channel 3 "b" has 9001 bytes of extras \(UTF-8, keys and values\), above the limit of 8192/);
      return true;
    },
  );
  assert.throws(() => validateChannels([]), /channel list is empty/);
  assert.throws(() => validateChannels([{ id: 'a', extras: {} }, { id: 'b', extras: {} }], 1), /2 channels, above the limit of 1/);
});

test('naming: placeholders, subdirectories, and nothing escapes the output directory', () => {
  checkNameTemplate('{package}/{versionCode}-{channel}.apk');
  assert.throws(() => checkNameTemplate('{bogus}-{channel}.apk'), /unknown placeholder \{bogus\}/);
  assert.throws(() => checkNameTemplate('/abs/{channel}.apk'), /must be a relative path/);
  assert.throws(() => checkNameTemplate('../{channel}.apk'), /"\." or "\.\." path segment/);
  assert.equal(renderName('{package}/{channel}-{md5}.apk', values, '/out'), 'com.x/c-m.apk');
  // Values from the APK cannot add path structure.
  assert.equal(renderName('{label}.apk', { ...values, label: '../../etc/passwd' }, '/out'), '.._.._etc_passwd.apk');
  assert.equal(renderName('{label}', { ...values, label: '..' }, '/out'), '__');
  // Names are checked in UTF-8 bytes per path segment before anything reaches the disk.
  assert.throws(() => renderName('{label}-{channel}.apk', { ...values, label: '应'.repeat(84) }, '/out'), /path segment of 258 bytes \(UTF-8\), above the limit of 255/);
  assert.equal(renderName('{label}/{channel}.apk', { ...values, label: '应'.repeat(84) }, '/out'), `${'应'.repeat(84)}/c.apk`);
  assert.throws(() => assertUniqueNames([{ channel: 'a', name: 'x.apk' }, { channel: 'b', name: 'x.apk' }]), /"a" and "b" both produce "x.apk"/);
});
