import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildUnsignedApk,
  CHINESE_ICON_ENTRY,
  CHINESE_LABEL,
  CHINESE_LABEL_EN,
  CHINESE_VERSION_NAME,
  frameworkResApk,
  makeTempDir,
  removeDir,
  squarePng,
  standardApk,
  type StandardApks,
} from '@subpack/testing';
import { ApkError } from '../errors';
import { readEntries } from '../zip/entries';
import { ResourceTable } from './arsc';
import { parseManifest, readManifest, type ManifestInfo } from './manifest';
import { aaptBadging, aaptLiteralAttribute } from './test-support/aapt';
import { ANDROID_NS, buildArsc, buildXml, hardenXml, packageChunk, T, typeChunk, type XmlAttrSpec, type XmlElementSpec } from './test-support/res-writer';
import { writeZip } from './test-support/zip-writer';
import { loadSource } from '../test-support/load-source';

/** Checks readManifest against `aapt dump badging`, which reads manifests with the platform's own parser. */
async function assertMatchesAapt(apk: string): Promise<ManifestInfo> {
  const [info, badging] = await Promise.all([readManifest(await loadSource(apk)), aaptBadging(apk)]);
  assert.equal(info.package, badging.package);
  assert.equal(String(info.versionCode), badging.versionCode);
  assert.equal(info.versionName, badging.versionName);
  assert.equal(String(info.minSdk), badging.sdkVersion);
  assert.equal(String(info.targetSdk), badging.targetSdkVersion);
  assert.equal(info.label, badging.labels.get('') ?? (await aaptLiteralAttribute(apk, 'label')) ?? null);
  // aapt names the file a device of each density would show; when the densest is a raster, it is ours. (aapt prefers
  // an adaptive icon's XML, which we pass over, so then the tests say what they expect.)
  const densest = [...badging.icons.keys()].filter((d) => d < 0xfffe).sort((a, b) => b - a)[0];
  const aaptIcon = densest === undefined ? undefined : badging.icons.get(densest);
  if (aaptIcon === undefined) assert.equal(info.icon, undefined);
  else if (/\.(png|webp)$/.test(aaptIcon)) assert.equal(info.icon, aaptIcon);
  return info;
}

const attr = {
  versionCode: (data: number, type: number = T.INT_DEC): XmlAttrSpec => ({ name: 'versionCode', ns: ANDROID_NS, resId: 0x0101021b, type, data }),
  versionName: (s: string): XmlAttrSpec => ({ name: 'versionName', ns: ANDROID_NS, resId: 0x0101021c, type: T.STRING, string: s }),
  minSdk: (data: number): XmlAttrSpec => ({ name: 'minSdkVersion', ns: ANDROID_NS, resId: 0x0101020c, type: T.INT_DEC, data }),
  targetSdk: (data: number): XmlAttrSpec => ({ name: 'targetSdkVersion', ns: ANDROID_NS, resId: 0x01010270, type: T.INT_DEC, data }),
  label: (type: number, value: string | number): XmlAttrSpec =>
    typeof value === 'string'
      ? { name: 'label', ns: ANDROID_NS, resId: 0x01010001, type, string: value }
      : { name: 'label', ns: ANDROID_NS, resId: 0x01010001, type, data: value },
};

function manifestXml(attrs: XmlAttrSpec[], children: XmlElementSpec[] = []): Buffer {
  return buildXml({ name: 'manifest', attrs: [{ name: 'package', type: T.STRING, string: 'com.example.synthetic' }, ...attrs], children });
}

describe('readManifest on APKs built by aapt', () => {
  const names: (keyof StandardApks)[] = ['v1Only', 'v2Only', 'v1v2v3', 'rotated', 'verity', 'chinese'];
  for (const name of names) {
    it(`agrees with aapt dump badging on the ${name} fixture`, async () => {
      await assertMatchesAapt(await standardApk(name));
    });
  }

  it('resolves the @string label and versionName with Chinese text, per locale', async () => {
    const apk = await standardApk('chinese');
    const info = await assertMatchesAapt(apk);
    assert.equal(info.package, 'com.example.chinese');
    assert.equal(info.versionCode, 2030100);
    assert.equal(info.versionCodeMajor, 0);
    assert.equal(info.minSdk, 21);
    assert.equal(info.targetSdk, 33);
    assert.ok(Buffer.from(info.label ?? '', 'utf8').equals(Buffer.from(CHINESE_LABEL, 'utf8')));
    assert.ok(Buffer.from(info.versionName ?? '', 'utf8').equals(Buffer.from(CHINESE_VERSION_NAME, 'utf8')));

    // The refs point at the resources aapt says they do.
    const entries = await readEntries(await loadSource(apk), ['resources.arsc'], { maxBytes: 1 << 20 });
    const table = ResourceTable.parse(entries.get('resources.arsc')!);
    assert.equal(table.nameOf(info.labelRef!), 'com.example.chinese:string/app_name');
    assert.equal(table.nameOf(info.versionNameRef!), 'com.example.chinese:string/version_name');
    assert.equal(info.icon, CHINESE_ICON_ENTRY);
    assert.equal(table.nameOf(info.iconRef!), 'com.example.chinese:mipmap/ic_launcher');
    assert.deepEqual(
      table.files(info.iconRef!).map((f) => [f.path, f.config.density]),
      [['res/mipmap-mdpi-v4/ic_launcher.png', 160], [CHINESE_ICON_ENTRY, 320]],
    );

    const badging = await aaptBadging(apk);
    const src = await loadSource(apk);
    const en = await readManifest(src, { locale: 'en' });
    assert.equal(en.label, CHINESE_LABEL_EN);
    assert.equal(en.label, badging.labels.get('en'));
    assert.equal(en.versionName, CHINESE_VERSION_NAME, 'versionName has no en translation, so the default serves');
    const zhCN = await readManifest(src, { locale: 'zh-CN' });
    assert.equal(zhCN.label, CHINESE_LABEL);
    assert.equal(zhCN.label, badging.labels.get('zh-CN'));
    assert.equal((await readManifest(src, { locale: 'zh' })).label, CHINESE_LABEL);
  });

  it("reads Debian's framework-res.apk: package android, label resolved in its 31 MB table", async () => {
    const apk = await frameworkResApk();
    const info = await assertMatchesAapt(apk);
    assert.equal(info.package, 'android');
    assert.equal(info.label, 'Android System');
    assert.equal(info.icon, 'res/drawable-xxhdpi-v4/ic_launcher_android.png');
    const badging = await aaptBadging(apk);
    const src = await loadSource(apk);
    for (const locale of ['zh-CN', 'af', 'de', 'ja']) {
      const localized = await readManifest(src, { locale });
      assert.equal(localized.label, badging.labels.get(locale), locale);
    }
  });

  describe('variants', () => {
    let dir: string;
    before(async () => {
      dir = await makeTempDir('subpack-manifest-');
    });
    after(async () => {
      await removeDir(dir);
    });

    it('keeps a literal Chinese label and versionName byte-exact, with a large versionCode', async () => {
      const apk = await buildUnsignedApk(dir, {
        package: 'com.example.literal',
        versionCode: 2100000000,
        versionName: `${CHINESE_VERSION_NAME} (正式版)`,
        minSdk: 19,
        targetSdk: 34,
        label: CHINESE_LABEL,
      });
      const info = await assertMatchesAapt(apk);
      assert.deepEqual(info, {
        package: 'com.example.literal',
        versionCode: 2100000000,
        versionCodeMajor: 0,
        versionName: `${CHINESE_VERSION_NAME} (正式版)`,
        minSdk: 19,
        targetSdk: 34,
        label: CHINESE_LABEL,
      });
    });

    describe('launcher icons', () => {
      const app = { versionCode: 1, versionName: '1.0', minSdk: 21, targetSdk: 33, label: 'Icons' };
      const adaptive =
        '<?xml version="1.0" encoding="utf-8"?>\n' +
        '<adaptive-icon xmlns:android="http://schemas.android.com/apk/res/android">\n' +
        '  <background android:drawable="@android:color/white"/>\n' +
        '  <foreground android:drawable="@android:color/black"/>\n' +
        '</adaptive-icon>\n';
      const build = async (name: string, spec: { icon?: string; resFiles?: Record<string, Buffer> }): Promise<ManifestInfo> => {
        return assertMatchesAapt(await buildUnsignedApk(join(dir, name), { ...app, package: `com.example.${name}`, ...spec }));
      };

      it('picks the densest PNG or WEBP and passes over an adaptive icon in anydpi', async () => {
        const info = await build('adaptive', {
          icon: '@mipmap/ic_launcher',
          resFiles: {
            'mipmap-anydpi-v26/ic_launcher.xml': Buffer.from(adaptive),
            'mipmap-hdpi/ic_launcher.png': squarePng(72),
            'mipmap-xxhdpi/ic_launcher.webp': Buffer.from('RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0', 'latin1'),
            'mipmap-xhdpi/ic_launcher.png': squarePng(96),
          },
        });
        assert.equal(info.icon, 'res/mipmap-xxhdpi-v4/ic_launcher.webp');
        assert.ok(info.iconRef);
      });

      it('follows an alias to the drawable it names, and takes a density-less PNG as mdpi', async () => {
        const info = await build('alias', {
          icon: '@mipmap/ic_launcher',
          resFiles: {
            'values/icons.xml': Buffer.from('<resources>\n  <item type="mipmap" name="ic_launcher">@drawable/logo</item>\n</resources>\n'),
            'drawable/logo.png': squarePng(48),
            'drawable-ldpi/logo.png': squarePng(36),
          },
        });
        assert.equal(info.icon, 'res/drawable/logo.png');
      });

      it('reports no icon when there is only XML, or no android:icon at all', async () => {
        const xmlOnly = await build('xmlonly', { icon: '@mipmap/ic_launcher', resFiles: { 'mipmap-anydpi-v26/ic_launcher.xml': Buffer.from(adaptive) } });
        assert.equal(xmlOnly.icon, undefined);
        assert.equal(typeof xmlOnly.iconRef, 'number');
        const none = await build('noicon', {});
        assert.equal(none.icon, undefined);
        assert.equal(none.iconRef, undefined);
      });
    });

    it('reads a hardened copy of a real manifest the same way aapt (the platform parser) does', async () => {
      const apk = await standardApk('chinese');
      const entries = await readEntries(await loadSource(apk), ['AndroidManifest.xml', 'resources.arsc'], { maxBytes: 1 << 20 });
      const hardened = hardenXml(entries.get('AndroidManifest.xml')!);
      const patched = join(dir, 'hardened.apk');
      await writeZip(patched, [
        { name: 'AndroidManifest.xml', data: hardened, compress: true },
        { name: 'resources.arsc', data: entries.get('resources.arsc')!, compress: false },
      ]);
      const info = await assertMatchesAapt(patched);
      assert.deepEqual(info, await readManifest(await loadSource(apk)));
      assert.equal((await readManifest(await loadSource(patched), { locale: 'en' })).label, CHINESE_LABEL_EN);
    });

    it('says which APK has no AndroidManifest.xml, or an unreadable one', async () => {
      const noManifest = join(dir, 'no-manifest.apk');
      await writeZip(noManifest, [{ name: 'classes.dex', data: Buffer.from('dex\n035\0'), compress: false }]);
      await assert.rejects(readManifest(await loadSource(noManifest)), (err: unknown) => {
        assert.ok(err instanceof ApkError);
        assert.equal(err.code, 'BAD_MANIFEST');
        assert.equal(err.message, `${noManifest}: AndroidManifest.xml: not found in the APK`);
        return true;
      });

      const real = (await readEntries(await loadSource(await standardApk('v1Only')), ['AndroidManifest.xml'], { maxBytes: 1 << 20 })).get('AndroidManifest.xml')!;
      const truncated = join(dir, 'truncated-manifest.apk');
      await writeZip(truncated, [{ name: 'AndroidManifest.xml', data: real.subarray(0, real.length >> 1), compress: true }]);
      await assert.rejects(readManifest(await loadSource(truncated)), (err: unknown) => {
        assert.ok(err instanceof ApkError);
        assert.equal(err.code, 'BAD_MANIFEST');
        assert.match(err.message, /truncated-manifest\.apk: AndroidManifest\.xml: truncated: the XML header says \d+ bytes but only \d+ are present/);
        return true;
      });

      const textual = join(dir, 'text-manifest.apk');
      await writeZip(textual, [{ name: 'AndroidManifest.xml', data: Buffer.from('<manifest package="x"/>'), compress: true }]);
      await assert.rejects(readManifest(await loadSource(textual)), /text-manifest\.apk: AndroidManifest\.xml: /);

      const notZip = join(dir, 'not-zip.apk');
      await writeFile(notZip, 'nope'.repeat(50));
      await assert.rejects(readManifest(await loadSource(notZip)), (err: unknown) => err instanceof ApkError && err.code === 'NOT_A_ZIP');
    });
  });
});

describe('parseManifest on synthetic manifests', () => {
  it('defaults minSdk to 1 and targetSdk to minSdk, as Android does', () => {
    const none = parseManifest(manifestXml([attr.versionCode(3)]));
    assert.equal(none.minSdk, 1);
    assert.equal(none.targetSdk, 1);
    assert.equal(none.versionName, null);
    assert.equal(none.label, null);
    const minOnly = parseManifest(manifestXml([], [{ name: 'uses-sdk', attrs: [attr.minSdk(23)] }]));
    assert.equal(minOnly.minSdk, 23);
    assert.equal(minOnly.targetSdk, 23);
    assert.equal(minOnly.versionCode, 0);
    const targetOnly = parseManifest(manifestXml([], [{ name: 'uses-sdk', attrs: [attr.targetSdk(30)] }]));
    assert.equal(targetOnly.minSdk, 1);
    assert.equal(targetOnly.targetSdk, 30);
  });

  it('resolves attributes by resource id first, and ignores decoys named like them', () => {
    const info = parseManifest(
      manifestXml(
        [
          { name: 'versionCode', ns: ANDROID_NS, resId: 0x01010999, type: T.INT_DEC, data: 999 },
          { name: 'versionName', ns: ANDROID_NS, resId: 0x01010998, type: T.STRING, string: 'decoy' },
          { name: 'x1', ns: ANDROID_NS, resId: 0x0101021b, type: T.INT_DEC, data: 7 },
          { name: 'x2', ns: ANDROID_NS, resId: 0x0101021c, type: T.STRING, string: 'real' },
        ],
        [{ name: 'uses-sdk', attrs: [{ name: 'targetSdkVersion', resId: 0x0101020c, type: T.INT_DEC, data: 26 }] }],
      ),
    );
    assert.equal(info.versionCode, 7);
    assert.equal(info.versionName, 'real');
    assert.equal(info.minSdk, 26, 'an attribute is what its resource id says, whatever its name');
    assert.equal(info.targetSdk, 26);
  });

  it('falls back to attribute names when there is no resource id', () => {
    const info = parseManifest(
      manifestXml(
        [
          { name: 'versionCode', ns: ANDROID_NS, type: T.INT_DEC, data: 12 },
          { name: 'versionName', ns: ANDROID_NS, type: T.STRING, string: '1.2' },
        ],
        [{ name: 'uses-sdk', attrs: [{ name: 'minSdkVersion', ns: ANDROID_NS, type: T.INT_DEC, data: 21 }] }],
      ),
    );
    assert.deepEqual([info.versionCode, info.versionName, info.minSdk], [12, '1.2', 21]);
  });

  it('reads typed values: hex and string integers, versionCodeMajor, sdk codenames, non-string versionName', () => {
    const info = parseManifest(
      manifestXml(
        [
          attr.versionCode(0xfffffffe, T.INT_HEX),
          { name: 'versionCodeMajor', ns: ANDROID_NS, resId: 0x01010576, type: T.INT_DEC, data: 3 },
          { name: 'versionName', ns: ANDROID_NS, resId: 0x0101021c, type: T.INT_DEC, data: 5 },
        ],
        [
          {
            name: 'uses-sdk',
            attrs: [
              { name: 'minSdkVersion', ns: ANDROID_NS, resId: 0x0101020c, type: T.STRING, string: '0x13' },
              { name: 'targetSdkVersion', ns: ANDROID_NS, resId: 0x01010270, type: T.STRING, string: 'VanillaIceCream' },
            ],
          },
        ],
      ),
    );
    assert.equal(info.versionCode, 0xfffffffe);
    assert.equal(info.versionCodeMajor, 3);
    assert.equal(info.versionName, '5');
    assert.equal(info.minSdk, 19);
    assert.equal(info.targetSdk, 10000, 'a preview codename means CUR_DEVELOPMENT');
  });

  it('only reads <uses-sdk> and <application> that are direct children of <manifest>', () => {
    const info = parseManifest(
      manifestXml([], [
        { name: 'wrapper', children: [{ name: 'uses-sdk', attrs: [attr.minSdk(99)] }, { name: 'application', attrs: [attr.label(T.STRING, 'nested')] }] },
        { name: 'application', attrs: [attr.label(T.STRING, 'top')] },
      ]),
    );
    assert.equal(info.minSdk, 1);
    assert.equal(info.label, 'top');
  });

  it('leaves references it cannot resolve visible, and resolves them when given the table', () => {
    const xml = manifestXml(
      [{ name: 'versionName', ns: ANDROID_NS, resId: 0x0101021c, type: T.REFERENCE, data: 0x7f010001 }],
      [{ name: 'application', attrs: [attr.label(T.REFERENCE, 0x7f010000)] }],
    );
    const bare = parseManifest(xml);
    assert.equal(bare.label, null);
    assert.equal(bare.labelRef, 0x7f010000);
    assert.equal(bare.versionName, null);
    assert.equal(bare.versionNameRef, 0x7f010001);

    const table = ResourceTable.parse(
      buildArsc(['游戏', 'Game', '3.0-测试'], [
        packageChunk({
          id: 0x7f,
          name: 'com.example.synthetic',
          types: ['string'],
          keys: ['app_name', 'version_name'],
          chunks: [
            typeChunk({ typeId: 1, entries: [{ key: 0, type: T.STRING, data: 0 }, { key: 1, type: T.STRING, data: 2 }] }),
            typeChunk({ typeId: 1, config: { language: 'en' }, layout: 'sparse', entries: [{ key: 0, type: T.STRING, data: 1 }] }),
          ],
        }),
      ]),
    );
    const resolved = parseManifest(xml, table);
    assert.deepEqual([resolved.label, resolved.versionName], ['游戏', '3.0-测试']);
    assert.equal(resolved.labelRef, 0x7f010000);
    assert.equal(parseManifest(xml, table, { locale: 'en' }).label, 'Game');
  });

  it('rejects a locale it cannot parse as the caller\'s mistake, not the manifest\'s', () => {
    assert.throws(() => parseManifest(manifestXml([]), undefined, { locale: 'english' }), (err: unknown) => {
      assert.ok(!(err instanceof ApkError));
      assert.match((err as Error).message, /locale "english": bad language code/);
      return true;
    });
  });

  it('fails clearly when versionCode is a reference it cannot resolve', () => {
    const xml = manifestXml([attr.versionCode(0x7f020000, T.REFERENCE)]);
    assert.throws(() => parseManifest(xml), /^ApkError: AndroidManifest\.xml: versionCode refers to resource 0x7f020000, which needs resources\.arsc$/);
  });

  it('says what is wrong with a manifest it cannot read', () => {
    const good = manifestXml([attr.versionCode(1)]);
    const check = (bytes: Buffer, pattern: RegExp): void => {
      assert.throws(() => parseManifest(bytes), (err: unknown) => {
        assert.ok(err instanceof ApkError);
        assert.equal(err.code, 'BAD_MANIFEST');
        assert.match(err.message, pattern);
        return true;
      });
    };
    check(good.subarray(0, 40), /^AndroidManifest\.xml: truncated: the XML header says \d+ bytes but only 40 are present$/);
    check(Buffer.alloc(0), /^AndroidManifest\.xml: too short to be binary XML \(0 bytes\)$/);
    check(Buffer.from('PK\x03\x04 garbage garbage garbage', 'latin1'), /^AndroidManifest\.xml: /);
    check(buildXml({ name: 'resources', attrs: [] }), /^AndroidManifest\.xml: the root element is <resources>, not <manifest>$/);
    check(buildXml({ name: 'manifest', attrs: [attr.versionCode(1)] }), /^AndroidManifest\.xml: <manifest> has no package attribute$/);
  });
});
