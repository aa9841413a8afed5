import { ApkError } from '../errors';
import type { ByteSource } from './byte-source';
import { EOCD, LOCAL_FILE_HEADER, U16_MAX, ZIP64_EOCD_LOCATOR, ZIP64_MARKER } from './records';

export const MAX_COMMENT_LENGTH = U16_MAX;

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
  if (src.size < EOCD.size) {
    throw new ApkError('NOT_A_ZIP', `${src.path}: not a ZIP archive (${src.size} bytes, too small for an End of Central Directory record)`);
  }
  const windowSize = Math.min(src.size, EOCD.size + MAX_COMMENT_LENGTH);
  const windowStart = src.size - windowSize;
  const window = await src.read(windowStart, windowSize);
  for (let i = windowSize - EOCD.size; i >= 0; i--) {
    if (!EOCD.matches(window, i)) continue;
    if (i + EOCD.size + EOCD.read(window, i).commentLength !== windowSize) continue;
    return parseEocdAt(src, window, i, windowStart);
  }
  const looksLikeZip = LOCAL_FILE_HEADER.matches(await src.read(0, Math.min(LOCAL_FILE_HEADER.size, src.size)));
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
  const { diskNumber, cdDisk, entriesOnDisk, entryCount, cdSize, cdOffset } = EOCD.read(raw);
  const comment = raw.subarray(EOCD.size);

  const hasZip64Locator =
    offset >= ZIP64_EOCD_LOCATOR.size && ZIP64_EOCD_LOCATOR.matches(await src.read(offset - ZIP64_EOCD_LOCATOR.size, ZIP64_EOCD_LOCATOR.size));
  if (hasZip64Locator || entryCount === ZIP64_MARKER.u16 || cdSize === ZIP64_MARKER.u32 || cdOffset === ZIP64_MARKER.u32) {
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
  const comment = changes.comment ?? eocd.subarray(EOCD.size);
  if (comment.length > MAX_COMMENT_LENGTH) {
    throw new ApkError('COMMENT_TOO_LONG', `ZIP comment would be ${comment.length} bytes; the format allows at most ${MAX_COMMENT_LENGTH}`);
  }
  const out = Buffer.alloc(EOCD.size + comment.length);
  eocd.copy(out, 0, 0, EOCD.size);
  const { entryCount, cdSize, cdOffset } = changes;
  EOCD.patch(out, 0, { entriesOnDisk: entryCount, entryCount, cdSize, cdOffset, commentLength: comment.length });
  comment.copy(out, EOCD.size);
  return out;
}
