import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configLocale, localeScore, parseLocale, readConfig } from './resource-config';
import { config } from './test-support/res-writer';

describe('resource configs and locales', () => {
  it('parses the locale spellings people use', () => {
    assert.deepEqual(parseLocale('zh-CN'), { language: 'zh', region: 'CN' });
    assert.deepEqual(parseLocale('zh_cn'), { language: 'zh', region: 'CN' });
    assert.deepEqual(parseLocale('zh-rCN'), { language: 'zh', region: 'CN' });
    assert.deepEqual(parseLocale('zh-Hans-CN'), { language: 'zh', region: 'CN' });
    assert.deepEqual(parseLocale('b+sr+Latn'), { language: 'sr', region: '' });
    assert.deepEqual(parseLocale('es-419'), { language: 'es', region: '419' });
    assert.deepEqual(parseLocale('EN'), { language: 'en', region: '' });
    assert.deepEqual(parseLocale(''), { language: '', region: '' });
    assert.throws(() => parseLocale('english'), /locale "english": bad language code/);
  });

  it('reads languages and regions, packed three-letter codes and short (old) configs', () => {
    assert.deepEqual(readConfig(config({ language: 'zh', region: 'TW' }), 0, 64), {
      language: 'zh', region: 'TW', script: '', variant: '', hasOtherQualifiers: false, density: 0,
    });
    const fil = readConfig(config({ language: 'fil', region: '419' }), 0, 64);
    assert.equal(configLocale(fil), 'fil-r419');
    const old = readConfig(config({ language: 'de', size: 28 }), 0, 28);
    assert.equal(configLocale(old), 'de');
    assert.equal(readConfig(config({ density: 320 }), 0, 64).hasOtherQualifiers, true);
    assert.equal(readConfig(config({ density: 320 }), 0, 64).density, 320);
    assert.equal(readConfig(config({ density: 320 }), 0, 15).density, 0, 'a config too short to hold a density has none');
    // A size field larger than the header it sits in is clamped, not trusted.
    const lying = config({ language: 'ko' });
    lying.writeUInt32LE(4096, 0);
    assert.equal(readConfig(lying, 0, 64).language, 'ko');
  });

  it('ranks configs: exact locale, then language-only, then another region (region-less request), then default', () => {
    const score = (c: { language?: string; region?: string }, want: string): number | undefined =>
      localeScore(readConfig(config(c), 0, 64), want ? parseLocale(want) : undefined);
    assert.ok(score({ language: 'zh', region: 'CN' }, 'zh-CN')! > score({ language: 'zh' }, 'zh-CN')!);
    assert.ok(score({ language: 'zh' }, 'zh-CN')! > score({}, 'zh-CN')!);
    assert.equal(score({ language: 'zh', region: 'TW' }, 'zh-CN'), undefined);
    assert.ok(score({ language: 'zh', region: 'TW' }, 'zh')! > score({}, 'zh')!);
    assert.ok(score({ language: 'zh' }, 'zh')! > score({ language: 'zh', region: 'TW' }, 'zh')!);
    assert.equal(score({ language: 'en' }, 'zh'), undefined);
    assert.equal(score({ language: 'en' }, ''), undefined);
    assert.equal(score({}, ''), 0);
  });
});
