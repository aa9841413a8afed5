import { ApkError } from '../errors';
import type { ByteSource } from './file-source';

export const EOCD_SIGNATURE = 0x06054b50;
export const EOCD_MIN_SIZE = 22;
export const MAX_COMMENT_LENGTH = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;

/** The End of Central Directory record, plus where it sits. */
export interface Eocd {
  /** File offset of the EOCD signature. */
  offset: number;
  entryCount: number;
  cdSize: number;
  cdOffset: number;
  comment: Buffer;
  /** The EOCD bytes exactly as found (22 + comment length). */
  raw: Buffer;
}

/**
 * Finds the EOCD by scanning back from the end for a signature whose comment length reaches exactly the end of the
 * file, the same rule Android's ZipUtils applies, so a comment that happens to contain the signature is not mistaken.
 */
export async function readEocd(src: ByteSource): Promise<Eocd> {
  if (src.size < EOCD_MIN_SIZE) {
    throw new ApkError('NOT_A_ZIP', `${src.path}: not a ZIP archive (${src.size} bytes, too small for an End of Central Directory record)`);
  }
  const windowSize = Math.min(src.size, EOCD_MIN_SIZE + MAX_COMMENT_LENGTH);
  const windowStart = src.size - windowSize;
  const window = await src.read(windowStart, windowSize);
  for (let i = windowSize - EOCD_MIN_SIZE; i >= 0; i--) {
    if (window.readUInt32LE(i) !== EOCD_SIGNATURE) continue;
    const commentLength = window.readUInt16LE(i + 20);
    if (i + EOCD_MIN_SIZE + commentLength !== windowSize) continue;
    return parseEocdAt(src, window, i, windowStart);
  }
  const head = await src.read(0, Math.min(4, src.size));
  const looksLikeZip = head.length === 4 && head.readUInt32LE(0) === 0x04034b50;
  throw new ApkError(
    looksLikeZip ? 'TRUNCATED' : 'NOT_A_ZIP',
    looksLikeZip
      ? `${src.path}: truncated ZIP archive (starts like a ZIP but has no End of Central Directory record)`
      : `${src.path}: not a ZIP archive (no End of Central Directory record)`,
  );
}

async function parseEocdAt(src: ByteSource, window: Buffer, i: number, windowStart: number): Promise<Eocd> {
  const offset = windowStart + i;
  const raw = Buffer.from(window.subarray(i));
  const diskNumber = raw.readUInt16LE(4);
  const cdDisk = raw.readUInt16LE(6);
  const entriesOnDisk = raw.readUInt16LE(8);
  const entryCount = raw.readUInt16LE(10);
  const cdSize = raw.readUInt32LE(12);
  const cdOffset = raw.readUInt32LE(16);
  const comment = raw.subarray(EOCD_MIN_SIZE);

  const hasZip64Locator =
    offset >= ZIP64_LOCATOR_SIZE && (await src.read(offset - ZIP64_LOCATOR_SIZE, 4)).readUInt32LE(0) === ZIP64_LOCATOR_SIGNATURE;
  if (hasZip64Locator || entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new ApkError(
      'ZIP64_UNSUPPORTED',
      `${src.path}: ZIP64 archive; Android's APK signature verification does not support ZIP64, so channels cannot be written`,
    );
  }
  if (diskNumber !== 0 || cdDisk !== 0 || entriesOnDisk !== entryCount) {
    throw new ApkError('MULTI_DISK', `${src.path}: multi-disk (spanned) ZIP archives are not APKs`);
  }
  if (cdOffset + cdSize > offset) {
    throw new ApkError(
      'CD_OUT_OF_BOUNDS',
      `${src.path}: central directory [${cdOffset}, ${cdOffset + cdSize}) lies outside the archive (EOCD at ${offset}); the file is truncated or corrupt`,
    );
  }
  return { offset, entryCount, cdSize, cdOffset, comment, raw };
}

/**
 * v2+ signatures digest the sections as contiguous, so bytes between the central directory and the EOCD make the APK
 * unverifiable and leave no well-defined place for a channel. The entries themselves can still be read.
 */
export function centralDirectoryGapProblem(eocd: Eocd, path: string): ApkError | null {
  const gap = eocd.offset - eocd.cdOffset - eocd.cdSize;
  return gap === 0 ? null : new ApkError('BAD_CENTRAL_DIRECTORY', `${path}: ${gap} unexpected bytes between the central directory and the EOCD`);
}

/** A copy of the EOCD with a new CD offset and size, entry count or comment. */
export function patchEocd(eocd: Buffer, changes: { cdOffset?: number; cdSize?: number; entryCount?: number; comment?: Buffer }): Buffer {
  const comment = changes.comment ?? eocd.subarray(EOCD_MIN_SIZE);
  if (comment.length > MAX_COMMENT_LENGTH) {
    throw new ApkError('COMMENT_TOO_LONG', `ZIP comment would be ${comment.length} bytes; the format allows at most ${MAX_COMMENT_LENGTH}`);
  }
  const out = Buffer.alloc(EOCD_MIN_SIZE + comment.length);
  eocd.copy(out, 0, 0, EOCD_MIN_SIZE);
  if (changes.entryCount !== undefined) {
    out.writeUInt16LE(changes.entryCount, 8);
    out.writeUInt16LE(changes.entryCount, 10);
  }
  if (changes.cdSize !== undefined) out.writeUInt32LE(changes.cdSize, 12);
  if (changes.cdOffset !== undefined) out.writeUInt32LE(changes.cdOffset, 16);
  out.writeUInt16LE(comment.length, 20);
  comment.copy(out, EOCD_MIN_SIZE);
  return out;
}
