import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnsignedApk, makeKey, signApk, signedFrameworkRes, squarePng, type AppSpec, type SignOptions, type SigningKey } from './apk-fixtures';
import { makeTempDir, requireAndroidTools } from './tools';

/** Bump when the fixtures below change, so stale cached APKs are rebuilt. */
const FIXTURE_VERSION = 'v2';

export const CHINESE_LABEL = '王者荣耀·测试服';
export const CHINESE_LABEL_EN = 'Honor of Kings Test';
export const CHINESE_VERSION_NAME = '2.3.1-内测版';
/** The chinese fixture's launcher icon: its densest raster, as aapt names it in the APK. */
export const CHINESE_ICON_ENTRY = 'res/mipmap-xhdpi-v4/ic_launcher.png';
/** The pixel size of each density of the chinese fixture's launcher icon. */
export const CHINESE_ICON_SIZES = { mdpi: 48, xhdpi: 96 } as const;

export interface StandardApks {
  /** v1 (JAR) only, targetSdk 29. */
  v1Only: string;
  /** v2 only, minSdk 24. */
  v2Only: string;
  /** v1 + v2 + v3. */
  v1v2v3: string;
  /** v1 + v2 + v3 with a key-rotation lineage in the v3 block. */
  rotated: string;
  /** v2 with the verity algorithm: the signing block is padded to 4096 by a 0x42726577 pair. */
  verity: string;
  /**
   * label and versionName are @string references with Chinese text (default, zh-rCN and en configs); android:icon is
   * @mipmap/ic_launcher, a PNG in mdpi (48 px) and xhdpi (96 px).
   */
  chinese: string;
}

const base: AppSpec = {
  package: 'com.example.game',
  versionCode: 42,
  versionName: '1.0.0',
  minSdk: 21,
  targetSdk: 29,
  label: 'Example Game',
};

const specs: Record<keyof StandardApks, { app: AppSpec; sign: SignOptions; rotate?: boolean }> = {
  v1Only: { app: { ...base, package: 'com.example.v1only' }, sign: { v1: true, v2: false, v3: false } },
  v2Only: { app: { ...base, package: 'com.example.v2only', minSdk: 24, targetSdk: 33 }, sign: { v1: false, v2: true, v3: false } },
  v1v2v3: { app: { ...base, package: 'com.example.v123', targetSdk: 33 }, sign: { v1: true, v2: true, v3: true } },
  rotated: { app: { ...base, package: 'com.example.rotated', minSdk: 28, targetSdk: 33 }, sign: { v1: true, v2: true, v3: true }, rotate: true },
  verity: { app: { ...base, package: 'com.example.verity', minSdk: 24, targetSdk: 33 }, sign: { v1: false, v2: true, v3: false, verity: true } },
  chinese: {
    app: {
      ...base,
      package: 'com.example.chinese',
      versionCode: 2030100,
      versionName: CHINESE_VERSION_NAME,
      versionNameAttr: '@string/version_name',
      label: '@string/app_name',
      icon: '@mipmap/ic_launcher',
      resFiles: {
        'mipmap-mdpi/ic_launcher.png': squarePng(CHINESE_ICON_SIZES.mdpi),
        'mipmap-xhdpi/ic_launcher.png': squarePng(CHINESE_ICON_SIZES.xhdpi),
      },
      targetSdk: 33,
      strings: {
        '': { app_name: CHINESE_LABEL, version_name: CHINESE_VERSION_NAME },
        'zh-rCN': { app_name: CHINESE_LABEL },
        en: { app_name: CHINESE_LABEL_EN },
      },
    },
    sign: { v1: true, v2: true, v3: true },
  },
};

export function fixtureCacheDir(): string {
  return process.env.SUBPACK_FIXTURE_CACHE ?? join(tmpdir(), `subpack-fixtures-${FIXTURE_VERSION}`);
}

let keysPromise: Promise<{ main: SigningKey; next: SigningKey }> | undefined;

async function keys(): Promise<{ main: SigningKey; next: SigningKey }> {
  keysPromise ??= (async () => {
    const dir = join(fixtureCacheDir(), 'keys');
    const main = { keystore: join(dir, 'release.p12'), alias: 'release', password: 'subpack-test' };
    const next = { keystore: join(dir, 'rotated.p12'), alias: 'rotated', password: 'subpack-test' };
    if (existsSync(main.keystore) && existsSync(next.keystore)) return { main, next };
    const work = await makeTempDir();
    await makeKey(work, 'release');
    await makeKey(work, 'rotated');
    await mkdir(fixtureCacheDir(), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir).catch(async (err: unknown) => {
      if (!existsSync(main.keystore)) throw err;
    });
    return { main, next };
  })();
  return keysPromise;
}

/** The signing keys the standard fixtures use, for tests that sign their own variants. */
export async function fixtureKeys(): Promise<{ main: SigningKey; next: SigningKey }> {
  requireAndroidTools();
  return keys();
}

/** Builds the APK once into the shared cache dir; concurrent builders race harmlessly via rename. */
async function cached(name: string, build: (work: string) => Promise<string>): Promise<string> {
  const target = join(fixtureCacheDir(), `${name}.apk`);
  if (existsSync(target)) return target;
  const work = await makeTempDir(`subpack-build-${name}-`);
  try {
    const built = await build(work);
    await rename(built, target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return target;
}

export async function standardApk(name: keyof StandardApks): Promise<string> {
  requireAndroidTools();
  const k = await keys();
  const spec = specs[name];
  return cached(name, async (work) => {
    const unsigned = await buildUnsignedApk(work, spec.app);
    return signApk(unsigned, join(work, 'signed.apk'), k.main, { ...spec.sign, ...(spec.rotate ? { rotateTo: k.next } : {}) });
  });
}

export async function standardApks(): Promise<StandardApks> {
  const out: Partial<StandardApks> = {};
  for (const name of Object.keys(specs) as (keyof StandardApks)[]) out[name] = await standardApk(name);
  return out as StandardApks;
}

/** A built but never signed APK (no v1 signature, no signing block): what a forgotten signing step produces. */
export async function unsignedApk(): Promise<string> {
  requireAndroidTools();
  return cached('unsigned', (work) => buildUnsignedApk(work, { ...base, package: 'com.example.unsigned' }));
}

/** Debian's framework-res.apk (45 MB, ~7,600 entries) signed v1+v2+v3 by the test key. */
export async function frameworkResApk(): Promise<string> {
  requireAndroidTools();
  const k = await keys();
  return cached('framework-res', (work) => signedFrameworkRes(work, k.main, { v1: true, v2: true, v3: true }));
}

/**
 * v1 + v2 + v3 with a 6 MiB stored asset: its prefix is over S3's 5 MiB minimum part size, so channels of it can be
 * composed inside an object store.
 */
export async function largeApk(): Promise<string> {
  requireAndroidTools();
  const k = await keys();
  return cached('large-6mib', async (work) => {
    const unsigned = await buildUnsignedApk(work, { ...base, package: 'com.example.large', targetSdk: 33, assets: [{ name: 'payload.bin', bytes: 6 * 1024 * 1024 }] });
    return signApk(unsigned, join(work, 'signed.apk'), k.main, { v1: true, v2: true, v3: true });
  });
}
