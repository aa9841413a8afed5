import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHINESE_LABEL, CHINESE_LABEL_EN, CHINESE_VERSION_NAME, frameworkResApk, standardApk } from '@subpack/testing';
import { readEntry } from '../zip/entries';
import { ResourceTable, type ResourceEntry } from './arsc';
import { configLocale } from './resource-config';
import { aaptDumpValues, type DumpedValue } from './test-support/aapt';
import { buildArsc, chunk, packageChunk, T, typeChunk, u16, u32, u8 } from './test-support/res-writer';
import type { TypedValue } from './typed-value';
import { loadSource } from '../test-support/load-source';

const STRINGS = ['默认名称', '中文名称', 'English name', 'Nom français', 'Filipino', 'shared value', 'after', 'dense screen', 'after (en)', 'after (zh)'];
const KEYS = ['app_name', 'alias', 'shared_a', 'shared_b', 'a_style', 'after_style', 'loop_a', 'loop_b', 'nothing'];
const id = (entry: number): number => 0x7f010000 | entry;

/** Package-level chunks Android skips: TYPE_SPEC, LIBRARY, OVERLAYABLE, OVERLAYABLE_POLICY, STAGED_ALIAS, unknown. */
function skippedChunks(): Buffer[] {
  const libName = Buffer.alloc(256);
  libName.write('com.lib', 'utf16le');
  return [
    chunk(0x0202, Buffer.concat([u8(1), u8(0), u16(0), u32(KEYS.length)]), Buffer.concat(KEYS.map(() => u32(0)))),
    chunk(0x0203, u32(1), Buffer.concat([u32(0x02), libName])),
    chunk(0x0204, Buffer.alloc(1024), Buffer.alloc(32, 0x11)),
    chunk(0x0205, Buffer.alloc(8), Buffer.alloc(8, 0x22)),
    chunk(0x0206, u32(1), Buffer.concat([u32(0x7f01ffff), u32(0x7f010000)])),
    chunk(0x02ff, Buffer.alloc(4), Buffer.alloc(4, 0x33)),
  ];
}

function syntheticArsc(withSkipped: boolean): Buffer {
  const typeChunks = [
    typeChunk({
      typeId: 1,
      entries: [
        { key: 0, type: T.STRING, data: 0 },
        { key: 1, type: T.REFERENCE, data: id(0) },
        { key: 2, type: T.STRING, data: 5 },
        { sameAs: 2 },
        { key: 4, bag: [{ name: 0x01010001, type: T.STRING, data: 6 }, { name: 0x01010002, type: T.INT_DEC, data: 3 }] },
        { key: 5, type: T.STRING, data: 6 },
        { key: 6, type: T.REFERENCE, data: id(7) },
        { key: 7, type: T.REFERENCE, data: id(6) },
        null,
      ],
    }),
    typeChunk({
      typeId: 1,
      config: { language: 'zh', region: 'CN' },
      layout: 'sparse',
      entries: [{ key: 0, type: T.STRING, data: 1 }, null, null, null, null, { key: 5, type: T.STRING, data: 9 }],
    }),
    typeChunk({
      typeId: 1,
      config: { language: 'en' },
      layout: 'offset16',
      entries: [{ key: 0, type: T.STRING, data: 2 }, null, null, null, null, { key: 5, type: T.STRING, data: 8 }],
    }),
    typeChunk({
      typeId: 1,
      config: { language: 'fr' },
      compact: true,
      entries: [{ key: 0, type: T.STRING, data: 3 }, { key: 1, type: T.REFERENCE, data: id(0) }],
    }),
    typeChunk({ typeId: 1, config: { language: 'fil' }, entries: [{ key: 0, type: T.STRING, data: 4 }] }),
    typeChunk({ typeId: 1, config: { density: 480 }, entries: [{ key: 0, type: T.STRING, data: 7 }] }),
    typeChunk({ typeId: 1, config: { language: 'de', size: 28 }, layout: 'sparse', compact: true, entries: [null, null, { key: 2, type: T.STRING, data: 0 }] }),
  ];
  const chunks = withSkipped ? [...skippedChunks().slice(0, 3), ...typeChunks, ...skippedChunks().slice(3)] : typeChunks;
  const arsc = buildArsc(STRINGS, [packageChunk({ id: 0x7f, name: 'com.test', types: ['string', 'style'], keys: KEYS, chunks })]);
  // LoadedArsc also skips unknown top-level chunks.
  return withSkipped ? Buffer.concat([chunk(0x0999, Buffer.alloc(0), Buffer.alloc(8)), arsc]) : arsc;
}

const str = (value: string): TypedValue => ({ kind: 'string', value });

describe('ResourceTable (synthetic TYPE chunks)', () => {
  for (const withSkipped of [false, true]) {
    const label = withSkipped ? 'with unknown package-level chunks (0x0202-0x0206, 0x02ff) in between' : 'plain';
    const table = ResourceTable.parse(syntheticArsc(withSkipped));

    it(`indexes packages and names resources (${label})`, () => {
      assert.deepEqual(table.packages, [{ id: 0x7f, name: 'com.test' }]);
      assert.equal(table.nameOf(id(0)), 'com.test:string/app_name');
      assert.equal(table.nameOf(id(8)), null);
    });

    it(`reads dense, sparse, offset16 and compact entries with their configs (${label})`, () => {
      const entries = table.entries(id(0));
      assert.deepEqual(
        entries.map((e: ResourceEntry) => [configLocale(e.config), e.config.hasOtherQualifiers, e.key, e.value]),
        [
          ['', false, 'app_name', str('默认名称')],
          ['zh-rCN', false, 'app_name', str('中文名称')],
          ['en', false, 'app_name', str('English name')],
          ['fr', false, 'app_name', str('Nom français')],
          ['fil', false, 'app_name', str('Filipino')],
          ['', true, 'app_name', str('dense screen')],
        ],
      );
      // Index 2 exists only in the sparse, compact, short-config 'de' chunk.
      assert.deepEqual(table.entries(id(2)).map((e) => [configLocale(e.config), e.value]), [
        ['', str('shared value')],
        ['de', str('默认名称')],
      ]);
    });

    it(`picks the config for a locale (${label})`, () => {
      const label0 = (locale?: string): TypedValue | null => table.resolve(id(0), locale === undefined ? {} : { locale });
      assert.deepEqual(label0(), str('默认名称'), 'the plain default beats the density-qualified one');
      assert.deepEqual(label0('zh-CN'), str('中文名称'));
      assert.deepEqual(label0('zh_CN'), str('中文名称'));
      assert.deepEqual(label0('zh-rCN'), str('中文名称'));
      assert.deepEqual(label0('zh'), str('中文名称'), 'a region-less request takes a regional config over the default');
      assert.deepEqual(label0('zh-TW'), str('默认名称'), 'another region of the language is not a match');
      assert.deepEqual(label0('en'), str('English name'));
      assert.deepEqual(label0('en-GB'), str('English name'));
      assert.deepEqual(label0('fr'), str('Nom français'));
      assert.deepEqual(label0('fil'), str('Filipino'), 'three-letter languages are packed into two bytes');
      assert.deepEqual(label0('ja'), str('默认名称'));
    });

    it(`shares entry bytes between offsets, and skips complex entries (${label})`, () => {
      assert.deepEqual(table.resolve(id(3)), str('shared value'));
      assert.deepEqual(table.entries(id(4)).map((e) => [e.key, e.value]), [['a_style', null]]);
      assert.equal(table.resolve(id(4)), null);
      assert.deepEqual(table.resolve(id(5)), str('after'));
      assert.deepEqual(table.resolve(id(5), { locale: 'en' }), str('after (en)'), 'offset16 entry past the first');
      assert.deepEqual(table.resolve(id(5), { locale: 'zh-CN' }), str('after (zh)'), 'sparse entry past the first');
    });

    it(`lists the files a resource names in every config, through references, each once (${label})`, () => {
      const files = (resId: number, maxDepth?: number): [string, number][] =>
        table.files(resId, maxDepth === undefined ? {} : { maxDepth }).map((f) => [f.path, f.config.density]);
      const all: [string, number][] = [['默认名称', 0], ['中文名称', 0], ['English name', 0], ['Nom français', 0], ['Filipino', 0], ['dense screen', 480]];
      assert.deepEqual(files(id(0)), all);
      assert.deepEqual(files(id(1)), all, 'the default and fr configs both refer to id 0; its files come once');
      assert.deepEqual(files(id(1), 0), [], 'the chain is longer than allowed');
      assert.deepEqual(files(id(6)), [], 'a cycle ends');
      assert.deepEqual(files(id(4)), [], 'a complex entry names no file');
      assert.deepEqual(files(id(8)), []);
    });

    it(`follows reference chains, per locale, and stops on cycles and missing ids (${label})`, () => {
      assert.deepEqual(table.resolve(id(1)), str('默认名称'));
      assert.deepEqual(table.resolve(id(1), { locale: 'zh-CN' }), str('中文名称'));
      assert.deepEqual(table.resolve(id(1), { locale: 'fr' }), str('Nom français'), 'compact reference');
      assert.equal(table.resolve(id(1), { maxDepth: 0 }), null, 'the chain is longer than allowed');
      assert.deepEqual(table.resolve(id(1), { maxDepth: 1 }), str('默认名称'));
      assert.equal(table.resolve(id(6)), null);
      assert.equal(table.resolve(id(8)), null);
      assert.equal(table.resolve(id(0x1234)), null);
      assert.equal(table.resolve(0x7f020000), null);
      assert.equal(table.resolve(0x01040000), null);
    });
  }

  it('fails clearly on a table it cannot read', () => {
    assert.throws(() => ResourceTable.parse(Buffer.alloc(0)), /no resource table chunk/);
    assert.throws(() => ResourceTable.parse(Buffer.from('definitely not a resource table')), /runs past the end|smaller than/);
    const arsc = syntheticArsc(false);
    assert.throws(() => ResourceTable.parse(arsc.subarray(0, arsc.length - 7)), /runs past the end/);
    // A TYPE chunk whose entriesStart leaves no room for its offsets.
    const bad = typeChunk({ typeId: 1, entries: [{ key: 0, type: T.STRING, data: 0 }, { key: 1, type: T.STRING, data: 1 }] });
    bad.writeUInt32LE(20 + 64, 16);
    const table = buildArsc(STRINGS, [packageChunk({ id: 0x7f, name: 'p', types: ['string'], keys: KEYS, chunks: [bad] })]);
    assert.throws(() => ResourceTable.parse(table), /entries start 84 leaves no room for 2 offsets/);
  });
});

function sameValue(got: TypedValue | null, want: DumpedValue): boolean {
  if (want.dataType === null) return got === null;
  if (got === null) return false;
  switch (got.kind) {
    case 'string':
      return want.dataType === 0x03 && (want.text === undefined || want.text.includes('\\') || got.value === want.text);
    case 'int':
      return want.dataType === (got.hex ? 0x11 : 0x10) && got.value >>> 0 === want.data;
    case 'bool':
      return want.dataType === 0x12 && got.value === (want.data !== 0);
    case 'reference':
      return (want.dataType === 0x01 || want.dataType === 0x07) && got.id === want.data;
    case 'attribute':
      return (want.dataType === 0x02 || want.dataType === 0x08) && got.id === want.data;
    case 'null':
      return want.dataType === 0x00;
    case 'other':
      return got.dataType === want.dataType && got.data === want.data;
  }
}

/** Checks every value aapt dumps for the given configs against the table's. Returns how many were compared. */
function compareWithAapt(table: ResourceTable, dumped: DumpedValue[], configs: string[]): number {
  let compared = 0;
  for (const want of dumped) {
    if (!configs.includes(want.config)) continue;
    const matching = table
      .entries(want.id)
      .filter((e) => configLocale(e.config) === (want.config === 'default' ? '' : want.config) && !e.config.hasOtherQualifiers);
    assert.equal(matching.length, 1, `${want.name} in ${want.config}: ${matching.length} entries`);
    assert.ok(sameValue(matching[0]!.value, want), `${want.name} in ${want.config}: ${JSON.stringify(matching[0]!.value)} vs ${JSON.stringify(want)}`);
    assert.equal(table.nameOf(want.id), want.name);
    compared += 1;
  }
  return compared;
}

describe('ResourceTable (real tables written by aapt)', () => {
  it('reads the chinese fixture exactly as aapt dumps it', async () => {
    const apk = await standardApk('chinese');
    const table = ResourceTable.parse((await readEntry(await loadSource(apk), 'resources.arsc', { maxBytes: 1 << 20 }))!);
    const dumped = await aaptDumpValues(apk);
    assert.equal(compareWithAapt(table, dumped, ['default', 'en', 'zh-rCN']), 4);
    const appName = dumped.find((d) => d.name.endsWith(':string/app_name'))!.id;
    const versionName = dumped.find((d) => d.name.endsWith(':string/version_name'))!.id;
    assert.deepEqual(table.resolve(appName), str(CHINESE_LABEL));
    assert.deepEqual(table.resolve(appName, { locale: 'en' }), str(CHINESE_LABEL_EN));
    assert.deepEqual(table.resolve(appName, { locale: 'zh-CN' }), str(CHINESE_LABEL));
    assert.deepEqual(table.resolve(versionName, { locale: 'en' }), str(CHINESE_VERSION_NAME));
  });

  it("parses framework-res.apk's 31 MB table and agrees with aapt on every default and zh-rCN value", async () => {
    const apk = await frameworkResApk();
    const arsc = (await readEntry(await loadSource(apk), 'resources.arsc', { maxBytes: 64 << 20 }))!;
    const table = ResourceTable.parse(arsc);
    assert.deepEqual(table.packages, [{ id: 0x01, name: 'android' }]);
    const dumped = await aaptDumpValues(apk);
    const compared = compareWithAapt(table, dumped, ['default', 'zh-rCN']);
    assert.ok(compared > 10000, `only ${compared} values compared`);
    assert.equal(table.nameOf(0x0104000a), 'android:string/ok');
    assert.deepEqual(table.resolve(0x0104000a), str('OK'));
    assert.deepEqual(table.resolve(0x0104000a, { locale: 'zh-CN' }), str('确定'));
  });
});
