import { ApkError } from './errors';
import { PAIR_IDS } from './signing/pairs';
import { readSigningBlock, type SigningBlock } from './signing/signing-block';
import { parseCentralDirectory, type CdEntry } from './zip/central-directory';
import { centralDirectoryGapProblem, readEocd, type Eocd } from './zip/eocd';
import type { ByteSource } from './zip/byte-source';
import { U32_MAX } from './zip/records';

/** Android's signature code uses 32-bit offsets; bigger files cannot carry a valid v2+ signature. */
export const MAX_APK_SIZE = U32_MAX;
/** A central directory bigger than this is corrupt rather than real (framework-res, ~7,600 entries, is ~0.5 MiB). */
export const MAX_CD_SIZE = 256 * 1024 * 1024;

export interface SchemeInfo {
  v1: boolean;
  v2: boolean;
  v3: boolean;
  v31: boolean;
  sourceStamp: boolean;
  verityPadding: boolean;
}

/**
 * Everything about an APK that channel writing needs, read from its tail only: the signing block, the central
 * directory and the EOCD. For a 300 MB APK this is typically well under 1 MiB.
 */
export interface ApkLayout {
  path: string;
  size: number;
  eocd: Eocd;
  /** The central directory bytes, unchanged. */
  cd: Buffer;
  entries: CdEntry[];
  signingBlock: SigningBlock | null;
  schemes: SchemeInfo;
}

const V1_SIGNATURE_FILE = /^META-INF\/[^/]+\.(SF)$/i;

/** Refuses any APK whose structure would make a channel APK unverifiable; everything that writes channels uses this. */
export async function readApkLayout(src: ByteSource): Promise<ApkLayout> {
  const { layout, problems } = await readLayout(src, false);
  if (problems[0]) throw problems[0];
  return layout;
}

/**
 * For inspection: an APK whose signing block is malformed (size fields that disagree, pairs that overrun it, bytes
 * between the central directory and the EOCD) is still read, and each problem is returned instead of refusing it all.
 * An unreadable signing block is reported as none. Problems with the ZIP itself still throw.
 */
export async function readApkLayoutForInspection(src: ByteSource): Promise<{ layout: ApkLayout; problems: ApkError[] }> {
  return readLayout(src, true);
}

async function readLayout(src: ByteSource, tolerateSigningProblems: boolean): Promise<{ layout: ApkLayout; problems: ApkError[] }> {
  const path = src.path;
  if (src.size > MAX_APK_SIZE) {
    throw new ApkError('TOO_LARGE', `${path}: ${src.size} bytes; APKs over 4 GiB cannot carry a valid APK signature`);
  }
  const problems: ApkError[] = [];
  const tolerate = (problem: ApkError): void => {
    if (!tolerateSigningProblems) throw problem;
    problems.push(problem);
  };
  const eocd = await readEocd(src);
  const gap = centralDirectoryGapProblem(eocd, path);
  if (gap) tolerate(gap);
  if (eocd.cdSize > MAX_CD_SIZE) {
    throw new ApkError('BAD_CENTRAL_DIRECTORY', `${path}: central directory of ${eocd.cdSize} bytes is implausibly large`);
  }
  const cd = await src.read(eocd.cdOffset, eocd.cdSize);
  const entries = parseCentralDirectory(cd, eocd.entryCount, eocd.cdOffset, path);
  let signingBlock: SigningBlock | null = null;
  try {
    signingBlock = await readSigningBlock(src, eocd.cdOffset);
  } catch (err) {
    if (!(err instanceof ApkError) || err.code !== 'BAD_SIGNING_BLOCK') throw err;
    tolerate(err);
  }
  const ids = new Set(signingBlock?.pairs.map((p) => p.id) ?? []);
  const schemes: SchemeInfo = {
    v1: entries.some((e) => V1_SIGNATURE_FILE.test(e.name)),
    v2: ids.has(PAIR_IDS.v2),
    v3: ids.has(PAIR_IDS.v3),
    v31: ids.has(PAIR_IDS.v31),
    sourceStamp: ids.has(PAIR_IDS.sourceStampV1) || ids.has(PAIR_IDS.sourceStampV2),
    verityPadding: ids.has(PAIR_IDS.verityPadding),
  };
  return { layout: { path, size: src.size, eocd, cd, entries, signingBlock, schemes }, problems };
}

/** v2/v3 signatures cover the CD and EOCD, so only the signing block may change on such an APK. */
export function hasV2PlusSignature(layout: ApkLayout): boolean {
  return layout.schemes.v2 || layout.schemes.v3 || layout.schemes.v31;
}
