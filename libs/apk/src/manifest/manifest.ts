import { ApkError } from '../errors';
import { readEntries } from '../zip/entries';
import type { ByteSource } from '../zip/byte-source';
import { parseBinaryXml, type XmlAttribute, type XmlElement } from './axml';
import { ResourceTable, type ResourceFile } from './arsc';
import { DENSITY_ANY, DENSITY_NONE, parseLocale } from './resource-config';
import { intValue, stringValue, type TypedValue } from './typed-value';

export interface ManifestInfo {
  package: string;
  /** android:versionCode as the unsigned low 32 bits of the long version code (0 when absent). */
  versionCode: number;
  /** android:versionCodeMajor, the high 32 bits of the long version code (0 when absent). */
  versionCodeMajor: number;
  versionName: string | null;
  /** android:minSdkVersion; 1 when absent (Android's default), 10000 for a preview codename. */
  minSdk: number;
  /** android:targetSdkVersion; minSdk when absent. */
  targetSdk: number;
  /** The application label, resolved through resources.arsc when it is a reference; null when absent or unresolved. */
  label: string | null;
  /** The resource id, when the label is a reference (`@string/…`). */
  labelRef?: number;
  /** The resource id, when versionName is a reference. */
  versionNameRef?: number;
  /**
   * The launcher icon as the ZIP entry of its densest raster (PNG or WEBP) file, e.g.
   * `res/mipmap-xhdpi-v4/ic_launcher.png`; absent when android:icon is missing, not a reference, unresolved, or only
   * XML (an adaptive or vector icon).
   */
  icon?: string;
  /** The resource id, when android:icon is a reference (`@mipmap/…`), whether or not a raster file was found. */
  iconRef?: number;
}

export interface ManifestOptions {
  /** Locale for referenced label/versionName, e.g. 'zh-CN', 'zh', 'en'; default config when omitted. */
  locale?: string;
}

/** android: attribute resource ids (frameworks/base/core/res/res/values/public.xml). */
export const ManifestAttr = {
  label: 0x01010001,
  icon: 0x01010002,
  versionCode: 0x0101021b,
  versionName: 0x0101021c,
  minSdkVersion: 0x0101020c,
  targetSdkVersion: 0x01010270,
  versionCodeMajor: 0x01010576,
} as const;

export const MANIFEST_ENTRY = 'AndroidManifest.xml';
export const RESOURCES_ENTRY = 'resources.arsc';
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;
const RESOURCES_MAX_BYTES = 256 * 1024 * 1024;
/** Build.VERSION_CODES.CUR_DEVELOPMENT: what Android makes of an sdk version given as a preview codename. */
const CUR_DEVELOPMENT = 10000;

/** The manifest attributes ManifestInfo is built from, before any reference is resolved. */
interface ManifestAttributes {
  package: string;
  versionCode?: TypedValue;
  versionCodeMajor?: TypedValue;
  versionName?: TypedValue;
  minSdk?: TypedValue;
  targetSdk?: TypedValue;
  label?: TypedValue;
  icon?: TypedValue;
}

/**
 * Reads package, version, sdk levels and label from a binary AndroidManifest.xml. References (`@string/…`,
 * `@integer/…`) resolve through `resources` for `opts.locale`. Errors start with `AndroidManifest.xml:`.
 */
export function parseManifest(axml: Buffer, resources?: ResourceTable, opts: ManifestOptions = {}): ManifestInfo {
  checkLocale(opts);
  return withManifestErrors(MANIFEST_ENTRY, () => buildInfo(readManifestAttributes(axml), resources, opts));
}

/**
 * Reads the manifest of an APK, streaming AndroidManifest.xml and resources.arsc out of it in one pass over the
 * central directory. resources.arsc is parsed only when the manifest refers to a resource.
 */
export async function readManifest(src: ByteSource, opts: ManifestOptions = {}): Promise<ManifestInfo> {
  checkLocale(opts);
  const apkPath = src.path;
  const entries = await readEntries(src, [MANIFEST_ENTRY, RESOURCES_ENTRY], {
    maxBytes: MANIFEST_MAX_BYTES,
    maxBytesByName: { [RESOURCES_ENTRY]: RESOURCES_MAX_BYTES },
  });
  const axml = entries.get(MANIFEST_ENTRY);
  if (!axml) throw new ApkError('BAD_MANIFEST', `${apkPath}: ${MANIFEST_ENTRY}: not found in the APK`);
  const manifestLabel = `${apkPath}: ${MANIFEST_ENTRY}`;
  const attrs = withManifestErrors(manifestLabel, () => readManifestAttributes(axml));
  const arsc = entries.get(RESOURCES_ENTRY);
  const { versionCode, versionCodeMajor, versionName, minSdk, targetSdk, label, icon } = attrs;
  const needsResources = [versionCode, versionCodeMajor, versionName, minSdk, targetSdk, label, icon].some((v) => v?.kind === 'reference');
  const resources = arsc && needsResources
    ? withManifestErrors(`${apkPath}: ${RESOURCES_ENTRY}`, () => ResourceTable.parse(arsc))
    : undefined;
  return withManifestErrors(manifestLabel, () => buildInfo(attrs, resources, opts));
}

/** A bad locale is the caller's mistake, so it fails up front rather than as a BAD_MANIFEST. */
function checkLocale(opts: ManifestOptions): void {
  if (opts.locale) parseLocale(opts.locale);
}

/** Runs `parse`, turning any failure into a BAD_MANIFEST error that starts with `label`. */
function withManifestErrors<R>(label: string, parse: () => R): R {
  try {
    return parse();
  } catch (err) {
    const error = new ApkError('BAD_MANIFEST', `${label}: ${err instanceof Error ? err.message : String(err)}`);
    error.cause = err;
    throw error;
  }
}

function readManifestAttributes(axml: Buffer): ManifestAttributes {
  const { elements } = parseBinaryXml(axml);
  const root = elements[0];
  if (root?.name !== 'manifest' || root.depth !== 1) {
    throw new Error(`the root element is <${root?.name ?? '?'}>, not <manifest>`);
  }
  // Android reads the package through the raw text first (XmlBlock.Parser.getAttributeValue).
  const pkgAttr = root.attributes.find((a) => a.name === 'package' && !a.namespace && a.resourceId === 0);
  const pkg = pkgAttr ? (pkgAttr.rawValue ?? stringValue(pkgAttr.value)) : null;
  if (!pkg) throw new Error('<manifest> has no package attribute');

  // Only direct children of <manifest> count, as in Android's parser.
  const children = elements.filter((e) => e.depth === 2);
  const usesSdk = children.find((e) => e.name === 'uses-sdk');
  const application = children.find((e) => e.name === 'application');
  return {
    package: pkg,
    versionCode: attribute(root, ManifestAttr.versionCode, 'versionCode'),
    versionCodeMajor: attribute(root, ManifestAttr.versionCodeMajor, 'versionCodeMajor'),
    versionName: attribute(root, ManifestAttr.versionName, 'versionName'),
    minSdk: usesSdk && attribute(usesSdk, ManifestAttr.minSdkVersion, 'minSdkVersion'),
    targetSdk: usesSdk && attribute(usesSdk, ManifestAttr.targetSdkVersion, 'targetSdkVersion'),
    label: application && attribute(application, ManifestAttr.label, 'label'),
    icon: application && attribute(application, ManifestAttr.icon, 'icon'),
  };
}

/**
 * The attribute with resource id `id`, else one without a resource id named `name`. An attribute that has some
 * other resource id never matches by name: Android goes by id, and hardened manifests plant decoys by name.
 */
function attribute(element: XmlElement, id: number, name: string): TypedValue | undefined {
  const byId = element.attributes.find((a) => a.resourceId === id);
  const byName = byId ?? element.attributes.find((a: XmlAttribute) => a.resourceId === 0 && a.name === name);
  return byName?.value;
}

function buildInfo(attrs: ManifestAttributes, resources: ResourceTable | undefined, opts: ManifestOptions): ManifestInfo {
  const resolve = (v: TypedValue | undefined, what: string): TypedValue | undefined => {
    if (v?.kind !== 'reference') return v;
    const resolved = resources?.resolve(v.id, { locale: opts.locale });
    if (!resolved) throw new Error(`${what} refers to resource 0x${hex(v.id)}, which ${resources ? 'resources.arsc does not resolve' : 'needs resources.arsc'}`);
    return resolved;
  };
  const integer = (v: TypedValue | undefined, what: string): number | undefined => {
    const resolved = resolve(v, what);
    if (resolved === undefined || resolved.kind === 'null') return undefined;
    const n = intValue(resolved);
    if (n === undefined) throw new Error(`${what} is not an integer (${describe(resolved)})`);
    return n;
  };
  const sdk = (v: TypedValue | undefined, what: string): number | undefined => {
    const resolved = resolve(v, what);
    // A non-numeric string is a preview codename (ParsingPackageUtils.computeMinSdkVersion).
    if (resolved?.kind === 'string' && intValue(resolved) === undefined) return CUR_DEVELOPMENT;
    return integer(resolved, what);
  };
  const text = (v: TypedValue | undefined): { value: string | null; ref?: number } => {
    if (v?.kind !== 'reference') return { value: v ? stringValue(v) : null };
    const resolved = resources?.resolve(v.id, { locale: opts.locale });
    return { value: resolved ? stringValue(resolved) : null, ref: v.id };
  };

  const minSdk = sdk(attrs.minSdk, 'minSdkVersion') ?? 1;
  const versionName = text(attrs.versionName);
  const label = text(attrs.label);
  const iconRef = attrs.icon?.kind === 'reference' && attrs.icon.id !== 0 ? attrs.icon.id : undefined;
  const icon = iconRef !== undefined && resources ? densestRaster(resources.files(iconRef)) : undefined;
  return {
    package: attrs.package,
    versionCode: (integer(attrs.versionCode, 'versionCode') ?? 0) >>> 0,
    versionCodeMajor: integer(attrs.versionCodeMajor, 'versionCodeMajor') ?? 0,
    versionName: versionName.value,
    minSdk,
    targetSdk: sdk(attrs.targetSdk, 'targetSdkVersion') ?? minSdk,
    label: label.value,
    ...(label.ref !== undefined ? { labelRef: label.ref } : {}),
    ...(versionName.ref !== undefined ? { versionNameRef: versionName.ref } : {}),
    ...(icon !== undefined ? { icon } : {}),
    ...(iconRef !== undefined ? { iconRef } : {}),
  };
}

const RASTER_ICON = /\.(png|webp)$/i;
/** Android's default density, which a config without a density qualifier stands for. */
const DENSITY_MEDIUM = 160;

/**
 * The PNG or WEBP file of the highest density, the first of equals in file order; XML (adaptive and vector icons)
 * never counts. A config without a density is mdpi; nodpi and anydpi rank below every real density.
 */
function densestRaster(files: readonly ResourceFile[]): string | undefined {
  let best: { path: string; dpi: number } | undefined;
  for (const { path, config } of files) {
    if (!RASTER_ICON.test(path)) continue;
    const dpi = config.density === 0 ? DENSITY_MEDIUM : config.density === DENSITY_NONE || config.density === DENSITY_ANY ? 0 : config.density;
    if (!best || dpi > best.dpi) best = { path, dpi };
  }
  return best?.path;
}

function describe(v: TypedValue): string {
  switch (v.kind) {
    case 'string':
      return JSON.stringify(v.value);
    case 'other':
      return `data type 0x${v.dataType.toString(16)}`;
    default:
      return v.kind;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
