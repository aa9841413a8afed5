import { ApkError } from '../errors';
import { CD_RECORD } from './records';

export interface CdEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/**
 * Lists the central directory's records. Only what channel writing and inspection need is decoded; the raw CD bytes
 * stay the source of truth and are written back untouched.
 */
export function parseCentralDirectory(cd: Buffer, expectedEntries: number, cdOffset: number, label: string): CdEntry[] {
  const entries: CdEntry[] = [];
  let p = 0;
  while (p < cd.length) {
    if (!CD_RECORD.matches(cd, p)) {
      throw new ApkError('BAD_CENTRAL_DIRECTORY', `${label}: corrupt central directory record at offset ${cdOffset + p}`);
    }
    const record = CD_RECORD.read(cd, p);
    const nameStart = p + CD_RECORD.size;
    const end = nameStart + record.nameLength + record.extraLength + record.commentLength;
    if (end > cd.length) {
      throw new ApkError('BAD_CENTRAL_DIRECTORY', `${label}: central directory record at offset ${cdOffset + p} runs past the directory's end`);
    }
    const { localHeaderOffset } = record;
    if (localHeaderOffset >= cdOffset) {
      throw new ApkError(
        'BAD_CENTRAL_DIRECTORY',
        `${label}: entry at CD offset ${cdOffset + p} points at local header ${localHeaderOffset}, past the start of the central directory`,
      );
    }
    entries.push({
      name: cd.toString('utf8', nameStart, nameStart + record.nameLength),
      method: record.method,
      crc32: record.crc32,
      compressedSize: record.compressedSize,
      uncompressedSize: record.uncompressedSize,
      localHeaderOffset,
    });
    p = end;
  }
  if (entries.length !== expectedEntries) {
    throw new ApkError(
      'BAD_CENTRAL_DIRECTORY',
      `${label}: central directory holds ${entries.length} records but the EOCD announces ${expectedEntries}`,
    );
  }
  return entries;
}
