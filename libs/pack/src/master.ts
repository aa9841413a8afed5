import { readApkLayout, readApkLayoutForInspection, readChannels, readManifest, pairHexId, pairName, type ApkLayout, type ByteSource, type FoundChannel, type ManifestInfo } from '@subpack/apk';

/** What a pack job needs to know about its master, all read from the tail and two small entries. */
export interface MasterInfo {
  /** The file path, or the URL of an object-store master. */
  path: string;
  layout: ApkLayout;
  manifest: ManifestInfo;
}

/** Reads a master through its source (a local file, an object read with range GETs) without loading its bulk. */
export async function loadMaster(src: ByteSource, opts: { locale?: string } = {}): Promise<MasterInfo> {
  const layout = await readApkLayout(src);
  const manifest = await readManifest(src, opts.locale ? { locale: opts.locale } : {});
  return { path: src.path, layout, manifest };
}

export interface Inspection {
  file: string;
  size: number;
  package: string;
  versionName: string | null;
  versionCode: number;
  versionCodeMajor: number;
  label: string | null;
  /** The ZIP entry of the launcher icon's densest PNG or WEBP; null when there is none (or only XML). */
  icon: string | null;
  minSdk: number | null;
  targetSdk: number | null;
  schemes: string[];
  signingBlock: { offset: number; size: number; pairs: { id: string; name: string; bytes: number }[] } | null;
  channels: FoundChannel[];
  entries: { name: string; method: 'stored' | 'deflated' | number; size: number; compressedSize: number }[];
  /** What makes this APK unusable as a master (a malformed signing block); empty when pack would accept it. */
  problems: { code: string; message: string }[];
}

const ZIP_METHODS: Record<number, 'stored' | 'deflated'> = { 0: 'stored', 8: 'deflated' };

export async function inspectApk(src: ByteSource, opts: { locale?: string } = {}): Promise<Inspection> {
  const { layout, problems } = await readApkLayoutForInspection(src);
  const manifest = await readManifest(src, opts.locale ? { locale: opts.locale } : {});
  const s = layout.schemes;
  const schemes = [s.v1 && 'v1', s.v2 && 'v2', s.v3 && 'v3', s.v31 && 'v3.1', s.sourceStamp && 'source-stamp'].filter((x): x is string => Boolean(x));
  const block = layout.signingBlock;
  return {
    file: src.path,
    size: layout.size,
    package: manifest.package,
    versionName: manifest.versionName,
    versionCode: manifest.versionCode,
    versionCodeMajor: manifest.versionCodeMajor,
    label: manifest.label,
    icon: manifest.icon ?? null,
    minSdk: manifest.minSdk,
    targetSdk: manifest.targetSdk,
    schemes,
    signingBlock: block && {
      offset: block.offset,
      size: block.size,
      pairs: block.pairs.map((p) => ({ id: pairHexId(p.id), name: pairName(p.id), bytes: p.value.length })),
    },
    channels: await readChannels(src, layout),
    entries: layout.entries.map((e) => ({ name: e.name, method: ZIP_METHODS[e.method] ?? e.method, size: e.uncompressedSize, compressedSize: e.compressedSize })),
    problems: problems.map((p) => ({ code: p.code, message: p.message })),
  };
}
