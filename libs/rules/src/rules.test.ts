import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelIdProblem } from './channel-id';
import { extrasProblems } from './extras';
import { fileNameProblem, namingTemplateProblems, renderFileName, withDigestStandIns } from './naming';
import { taskIdProblem } from './task-id';
import { FORBIDDEN_BMP_RANGES, forbiddenCharacter, quoted, utf8Length } from './text';

test('the JSON-Schema character ranges are exactly the BMP part of the validator\'s set (surrogates aside)', () => {
  const inRanges = (cp: number): boolean => FORBIDDEN_BMP_RANGES.some(([from, to]) => cp >= from && cp <= to);
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const forbidden = forbiddenCharacter(String.fromCodePoint(cp)) !== null;
    assert.equal(inRanges(cp), forbidden, `U+${cp.toString(16)}`);
  }
});

test('UTF-8 length counts like Buffer.byteLength, unpaired surrogates included', () => {
  for (const s of ['', 'abc', 'é', '中文', '😀', 'a\uD800b', '\uDC00']) assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), JSON.stringify(s));
});

test('channel ids: hostile and overlong ids are refused with the reason, in bytes', () => {
  assert.equal(channelIdProblem('huawei'), null);
  assert.equal(channelIdProblem('应用宝'), null);
  assert.equal(channelIdProblem('中'.repeat(42) + 'ab'), null); // 128 bytes
  assert.equal(channelIdProblem(''), 'is empty');
  assert.match(channelIdProblem('..')!, /names a directory/);
  assert.match(channelIdProblem('a/b')!, /path separator/);
  assert.match(channelIdProblem('a\\b')!, /path separator/);
  assert.match(channelIdProblem('a\u0000b')!, /U\+0000/);
  assert.match(channelIdProblem('a\u200Bb')!, /U\+200B/);
  assert.match(channelIdProblem('a\u202Eb')!, /U\+202E/);
  assert.match(channelIdProblem('a\u2028b')!, /U\+2028/);
  assert.match(channelIdProblem('a\uD800b')!, /U\+D800/);
  assert.match(channelIdProblem('a\u{E0041}')!, /U\+E0041/);
  assert.match(channelIdProblem(' huawei')!, /leading or trailing whitespace/);
  assert.match(channelIdProblem('huawei\u3000')!, /leading or trailing whitespace/);
  assert.equal(channelIdProblem('中'.repeat(43)), 'is 129 bytes long (UTF-8), above the limit of 128');
});

test('extras: key count, key bytes, reserved and invisible keys, total bytes', () => {
  assert.deepEqual(extrasProblems({ campaign: 'spring', partner: ' p 7 ' }), []);
  assert.deepEqual(extrasProblems(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, '']))), ['has 33 extras, above the limit of 32']);
  assert.deepEqual(extrasProblems({ channel: 'x' }), ['has an extra key "channel" that is reserved for the channel id']);
  assert.deepEqual(extrasProblems({ '': 'x' }), ['has an extra key "" that is empty']);
  assert.deepEqual(extrasProblems({ ' k': 'x' }), ['has an extra key " k" that has leading or trailing whitespace']);
  assert.deepEqual(extrasProblems({ 'a\u200Bb': 'x' }), ['has an extra key "a\\u200bb" that contains the control or invisible character U+200B']);
  assert.deepEqual(extrasProblems({ k: 'a\u0007' }), ['has an extra "k" whose value contains the control or invisible character U+0007']);
  assert.deepEqual(extrasProblems({ ['é'.repeat(65)]: 'x' }), [`has an extra key ${quoted('é'.repeat(65))} that is 130 bytes long (UTF-8), above the limit of 128`]);
  assert.deepEqual(extrasProblems({ k: 'x'.repeat(8191) }), []);
  assert.deepEqual(extrasProblems({ k: 'x'.repeat(8192) }), ['has 8193 bytes of extras (UTF-8, keys and values), above the limit of 8192']);
});

test('naming templates: placeholders, braces, a distinguishing placeholder, relative paths', () => {
  assert.deepEqual(namingTemplateProblems('{package}-{versionName}-{channel}.apk'), []);
  assert.deepEqual(namingTemplateProblems('{package}/{versionCode}/{channel}.apk'), []);
  assert.deepEqual(namingTemplateProblems('{sha256}.apk'), []);
  assert.deepEqual(namingTemplateProblems(''), ['is empty']);
  assert.deepEqual(namingTemplateProblems('{bogus}-{channel}.apk'), [
    'uses the unknown placeholder {bogus}; use {channel} {package} {versionName} {versionCode} {label} {md5} {sha256}',
  ]);
  assert.deepEqual(namingTemplateProblems('{channel}}.apk'), ['has a "{" or "}" that is not part of a placeholder']);
  assert.deepEqual(namingTemplateProblems('{package}.apk'), ['must contain {channel}, {md5} or {sha256} so that every channel gets its own file name']);
  assert.deepEqual(namingTemplateProblems('/srv/{channel}.apk'), ['must be a relative path (no leading "/")']);
  assert.deepEqual(namingTemplateProblems('a\\{channel}.apk'), ['must not contain "\\"; use "/" for subdirectories']);
  assert.deepEqual(namingTemplateProblems('a//{channel}.apk'), ['must not have an empty path segment ("//" or a trailing "/")']);
  assert.deepEqual(namingTemplateProblems('{channel}/'), ['must not have an empty path segment ("//" or a trailing "/")']);
  assert.deepEqual(namingTemplateProblems('../{channel}.apk'), ['must not have a "." or ".." path segment']);
  assert.deepEqual(namingTemplateProblems('a/./{channel}.apk'), ['must not have a "." or ".." path segment']);
  assert.deepEqual(namingTemplateProblems('{channel}\u200E.apk'), ['contains the control or invisible character U+200E']);
  assert.deepEqual(namingTemplateProblems(`${'x'.repeat(1020)}{channel}`), ['is 1029 bytes long (UTF-8), above the limit of 1024']);
});

test('rendered names: values cannot add path structure; bytes are checked per segment and in total', () => {
  const values = withDigestStandIns({ channel: 'c', package: 'com.x', versionName: '1.0', versionCode: '7', label: 'L' });
  assert.equal(values.md5.length, 32);
  assert.equal(values.sha256.length, 64);
  assert.equal(renderFileName('{label}/{channel}.apk', { ...values, label: '../../etc' }), '.._.._etc/c.apk');
  assert.equal(renderFileName('{label}-{channel}', { ...values, label: '..' }), '__-c');
  assert.equal(renderFileName('{label}{channel}', { ...values, label: 'a\u202Eb\u0000' }), 'a_b_c');
  assert.equal(fileNameProblem('com.x/1.0/c.apk'), null);
  assert.equal(fileNameProblem(renderFileName('{label}/{channel}', { ...values, label: '' })), 'must be a relative path (no leading "/")');
  assert.equal(fileNameProblem('x/../y'), 'must not have a "." or ".." path segment');
  const segment255 = 'é'.repeat(127) + 'x';
  assert.equal(fileNameProblem(segment255), null);
  assert.equal(fileNameProblem(`${segment255}x`), 'has a path segment of 256 bytes (UTF-8), above the limit of 255 per file or directory name');
  assert.equal(fileNameProblem(Array.from({ length: 5 }, () => 'y'.repeat(250)).join('/')), 'is 1254 bytes long (UTF-8), above the limit of 1024');
});

test('task ids: the contract pattern and length', () => {
  assert.equal(taskIdProblem('release-2025-06-01.42'), null);
  assert.equal(taskIdProblem('x'.repeat(128)), null);
  assert.equal(taskIdProblem(''), 'is empty');
  assert.equal(taskIdProblem('x'.repeat(129)), 'is 129 characters long, above the limit of 128');
  assert.match(taskIdProblem('-x')!, /must start with a letter or digit/);
  assert.match(taskIdProblem('a{b}')!, /must start with a letter or digit/);
});
