import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { FRAMEWORK_RES, run } from './tools';

export interface SigningKey {
  keystore: string;
  alias: string;
  password: string;
}

/** Generates an RSA key in a PKCS12 keystore with keytool. */
export async function makeKey(dir: string, alias = 'release'): Promise<SigningKey> {
  const keystore = join(dir, `${alias}.p12`);
  const password = 'subpack-test';
  await run('keytool', [
    '-genkeypair', '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', password, '-keypass', password,
    '-alias', alias, '-keyalg', 'RSA', '-keysize', '2048', '-validity', '10000',
    '-dname', `CN=${alias}, O=subpack tests`,
  ]);
  return { keystore, alias, password };
}

export interface AppSpec {
  package: string;
  versionCode: number;
  versionName: string;
  minSdk: number;
  targetSdk: number;
  /** A literal label, or a reference such as `@string/app_name`. */
  label: string;
  /** Written as android:versionName verbatim, e.g. `@string/version_name`; defaults to versionName. */
  versionNameAttr?: string;
  /** String resources per qualifier: '' is res/values, 'zh-rCN' is res/values-zh-rCN, and so on. */
  strings?: Record<string, Record<string, string>>;
  /** Stored (uncompressed) random assets, to make APKs of a given size. */
  assets?: { name: string; bytes: number }[];
  /** Written as android:icon on <application> verbatim, e.g. `@mipmap/ic_launcher`. */
  icon?: string;
  /** Files under res/ by their path there, e.g. `mipmap-mdpi/ic_launcher.png`. */
  resFiles?: Record<string, Buffer>;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid size×size RGB PNG: a solid `fill` square inside a `border` frame one sixteenth of the size wide (at least
 * one pixel), written with node:zlib so that no binary is committed.
 */
export function squarePng(size: number, fill: [number, number, number] = [0x2e, 0x7d, 0x32], border: [number, number, number] = [0x1b, 0x1b, 0x1b]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const edge = Math.max(1, Math.floor(size / 16));
  const rowBytes = 1 + size * 3;
  const raw = Buffer.alloc(rowBytes * size);
  for (let y = 0; y < size; y++) {
    raw.writeUInt8(0, y * rowBytes); // filter: none
    for (let x = 0; x < size; x++) {
      const onEdge = x < edge || y < edge || x >= size - edge || y >= size - edge;
      const [r, g, b] = onEdge ? border : fill;
      const at = y * rowBytes + 1 + x * 3;
      raw[at] = r;
      raw[at + 1] = g;
      raw[at + 2] = b;
    }
  }
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, "\\'");
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = 8 * 1024 * 1024;
    for (let written = 0; written < bytes; written += chunk) {
      await fh.write(randomBytes(Math.min(chunk, bytes - written)));
    }
  } finally {
    await fh.close();
  }
}

/** Builds an unsigned, zipaligned APK with aapt against Debian's framework-res.apk. */
export async function buildUnsignedApk(dir: string, spec: AppSpec): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'res', 'values'), { recursive: true });
  const manifest =
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="${spec.package}"` +
    ` android:versionCode="${spec.versionCode}" android:versionName="${xmlEscape(spec.versionNameAttr ?? spec.versionName)}">\n` +
    `  <uses-sdk android:minSdkVersion="${spec.minSdk}" android:targetSdkVersion="${spec.targetSdk}"/>\n` +
    `  <application android:label="${xmlEscape(spec.label)}"${spec.icon ? ` android:icon="${xmlEscape(spec.icon)}"` : ''} android:hasCode="false"/>\n` +
    `</manifest>\n`;
  await writeFile(join(src, 'AndroidManifest.xml'), manifest, 'utf8');
  for (const [path, bytes] of Object.entries(spec.resFiles ?? {})) {
    const file = join(src, 'res', path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
  for (const [qualifier, strings] of Object.entries(spec.strings ?? {})) {
    const valuesDir = join(src, 'res', qualifier ? `values-${qualifier}` : 'values');
    await mkdir(valuesDir, { recursive: true });
    const body = Object.entries(strings)
      .map(([name, value]) => `  <string name="${name}">${xmlEscape(value)}</string>`)
      .join('\n');
    await writeFile(join(valuesDir, 'strings.xml'), `<?xml version="1.0" encoding="utf-8"?>\n<resources>\n${body}\n</resources>\n`, 'utf8');
  }
  const args = ['package', '-f', '-M', join(src, 'AndroidManifest.xml'), '-S', join(src, 'res'), '-I', FRAMEWORK_RES];
  if (spec.assets && spec.assets.length > 0) {
    const assets = join(src, 'assets');
    await mkdir(assets, { recursive: true });
    for (const a of spec.assets) await writeRandomFile(join(assets, a.name), a.bytes);
    args.push('-A', assets, '-0', 'bin');
  }
  const unaligned = join(dir, `${spec.package}-unaligned.apk`);
  await run('aapt', [...args, '-F', unaligned]);
  const aligned = join(dir, `${spec.package}-unsigned.apk`);
  await run('zipalign', ['-f', '-p', '4', unaligned, aligned]);
  return aligned;
}

export interface SignOptions {
  v1?: boolean;
  v2?: boolean;
  v3?: boolean;
  v4?: boolean;
  /** Signs with a lineage that rotates `key` to `rotateTo` (APK Signature Scheme v3 key rotation). */
  rotateTo?: SigningKey;
  minSdk?: number;
  verity?: boolean;
}

function signerArgs(k: SigningKey): string[] {
  return ['--ks', k.keystore, '--ks-key-alias', k.alias, '--ks-pass', `pass:${k.password}`, '--key-pass', `pass:${k.password}`];
}

/** Signs `input` into `out` with apksigner and the requested schemes. */
export async function signApk(input: string, out: string, key: SigningKey, opts: SignOptions = {}): Promise<string> {
  const args = [
    'sign',
    '--v1-signing-enabled', String(opts.v1 ?? true),
    '--v2-signing-enabled', String(opts.v2 ?? true),
    '--v3-signing-enabled', String(opts.v3 ?? false),
    '--v4-signing-enabled', String(opts.v4 ?? false),
  ];
  if (opts.minSdk !== undefined) args.push('--min-sdk-version', String(opts.minSdk));
  if (opts.verity) args.push('--verity-enabled', 'true');
  if (opts.rotateTo) {
    const lineage = `${out}.lineage`;
    await run('apksigner', ['rotate', '--out', lineage, '--old-signer', ...signerArgs(key), '--new-signer', ...signerArgs(opts.rotateTo)]);
    args.push(...signerArgs(key), '--next-signer', ...signerArgs(opts.rotateTo), '--lineage', lineage);
  } else {
    args.push(...signerArgs(key));
  }
  args.push('--out', out, input);
  await run('apksigner', args);
  return out;
}

export interface VerifyResult {
  v1: boolean;
  v2: boolean;
  v3: boolean;
  v31: boolean;
  v4: boolean;
  output: string;
}

/** Runs `apksigner verify` and reports which schemes verified; throws when the APK does not verify. */
export async function apksignerVerify(apk: string, opts: { minSdk?: number } = {}): Promise<VerifyResult> {
  const args = ['verify', '--verbose'];
  if (opts.minSdk !== undefined) args.push('--min-sdk-version', String(opts.minSdk));
  const { stdout, stderr } = await run('apksigner', [...args, apk]);
  const output = stdout + stderr;
  if (!/^Verifies$/m.test(output)) throw new Error(`apksigner verify did not verify ${apk}:\n${output}`);
  const scheme = (label: string): boolean => new RegExp(`^Verified using ${label}[^:]*: true$`, 'm').test(output);
  return {
    v1: scheme('v1 scheme'),
    v2: scheme('v2 scheme'),
    v3: scheme('v3 scheme'),
    v31: scheme('v3.1 scheme'),
    v4: scheme('v4 scheme'),
    output,
  };
}

/** A copy of Debian's framework-res.apk, re-signed with v1+v2 by `key`: the large real-world case. */
export async function signedFrameworkRes(dir: string, key: SigningKey, opts: SignOptions = {}): Promise<string> {
  const copy = join(dir, 'framework-res-unsigned.apk');
  await copyFile(FRAMEWORK_RES, copy);
  return signApk(copy, join(dir, 'framework-res-signed.apk'), key, opts);
}

const EOCD_SIZE = 22;
const EOCD_SIGNATURE = 0x06054b50;

/**
 * A copy of an APK without a ZIP comment, given a comment of `length` bytes: v1 signatures do not cover the comment,
 * so the copy still verifies, and it leaves only 65535 - length bytes for formats that append to the comment.
 */
export async function withZipComment(apk: string, length: number, out: string): Promise<string> {
  const source = await readFile(apk);
  const eocd = source.length - EOCD_SIZE;
  if (source.readUInt32LE(eocd) !== EOCD_SIGNATURE) throw new Error(`${apk} already has a ZIP comment`);
  const bytes = Buffer.from(source);
  bytes.writeUInt16LE(length, eocd + 20);
  await writeFile(out, Buffer.concat([bytes, Buffer.alloc(length, 'x')]));
  return out;
}
