import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHINESE_LABEL, standardApk } from '@subpack/testing';
import { readEntries } from '../zip/entries';
import { StringPool } from './string-pool';
import { stringPool } from './test-support/res-writer';
import { loadSource } from '../test-support/load-source';

const SAMPLES = [
  '',
  'a',
  'x'.repeat(127), // longest 1-byte UTF-8 length
  'x'.repeat(128), // shortest 2-byte UTF-8 length
  '测'.repeat(50), // 50 chars but 150 bytes: only the byte length needs 2 bytes
  '测'.repeat(200), // both lengths need 2 bytes
  CHINESE_LABEL,
  '2.3.1-内测版',
  'emoji 🎮 needs a surrogate pair',
  'y'.repeat(0x7fff), // longest 1-u16 UTF-16 length and longest 2-byte UTF-8 length
];

describe('StringPool', () => {
  for (const utf8 of [false, true]) {
    it(`decodes ${utf8 ? 'UTF-8' : 'UTF-16'} strings of every length encoding byte-exactly`, () => {
      const pool = StringPool.parse(stringPool(SAMPLES, { utf8 }));
      assert.equal(pool.utf8, utf8);
      assert.equal(pool.count, SAMPLES.length);
      SAMPLES.forEach((s, i) => {
        const got = pool.get(i);
        assert.ok(got !== null, `string ${i}`);
        assert.ok(Buffer.from(got, 'utf8').equals(Buffer.from(s, 'utf8')), `string ${i} (${s.length} chars) differs`);
      });
    });
  }

  it('decodes UTF-16 strings longer than 32767 chars (two-u16 length)', () => {
    const long = ['z'.repeat(0x8000), '长'.repeat(70000), 'after'];
    const pool = StringPool.parse(stringPool(long));
    assert.equal(pool.get(0), long[0]);
    assert.equal(pool.get(1), long[1]);
    assert.equal(pool.get(2), 'after');
  });

  it('recovers UTF-8 strings whose byte length an old encoder truncated to 15 bits, as androidfw does', () => {
    const long = 'q'.repeat(40000);
    const pool = StringPool.parse(stringPool([long, 'next'], { utf8: true, truncateLongUtf8: true }));
    assert.equal(pool.get(0), long);
    assert.equal(pool.get(1), 'next');
  });

  it('reads bad indices and unterminated strings as null, not as garbage', () => {
    const bytes = stringPool(['ok', 'broken'], { utf8: true });
    const pool = StringPool.parse(bytes);
    assert.equal(pool.get(2), null);
    assert.equal(pool.get(-1), null);
    assert.equal(pool.get(1.5), null);
    // Overwrite the terminator of "broken" (the last string) with a letter.
    const corrupt = Buffer.from(bytes);
    const end = corrupt.lastIndexOf('broken', undefined, 'latin1') + 'broken'.length;
    corrupt[end] = 0x41;
    assert.equal(StringPool.parse(corrupt).get(1), null);
    assert.equal(StringPool.parse(corrupt).get(0), 'ok');
  });

  it('rejects a pool whose offsets do not fit in the chunk', () => {
    const bytes = Buffer.from(stringPool(['a', 'b']));
    bytes.writeUInt32LE(1000, 8); // stringCount
    assert.throws(() => StringPool.parse(bytes), /1000 string offsets do not fit/);
  });

  it('reads the pools aapt writes: UTF-16 in the manifest, UTF-8 in resources.arsc, Chinese intact', async () => {
    const apk = await standardApk('chinese');
    const entries = await readEntries(await loadSource(apk), ['AndroidManifest.xml', 'resources.arsc'], { maxBytes: 1 << 20 });
    const manifestPool = StringPool.parse(entries.get('AndroidManifest.xml')!, 8);
    assert.equal(manifestPool.utf8, false);
    const manifestStrings = Array.from({ length: manifestPool.count }, (_, i) => manifestPool.get(i));
    assert.ok(manifestStrings.includes('com.example.chinese'));
    // The global pool follows the 12-byte table header.
    const arscPool = StringPool.parse(entries.get('resources.arsc')!, 12);
    assert.equal(arscPool.utf8, true);
    const arscStrings = Array.from({ length: arscPool.count }, (_, i) => arscPool.get(i));
    assert.ok(arscStrings.includes(CHINESE_LABEL), `arsc strings: ${JSON.stringify(arscStrings)}`);
  });
});
