import { ApkError } from '../errors';

export const CD_RECORD_SIGNATURE = 0x02014b50;
const CD_RECORD_MIN_SIZE = 46;

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
    if (p + CD_RECORD_MIN_SIZE > cd.length || cd.readUInt32LE(p) !== CD_RECORD_SIGNATURE) {
      throw new ApkError('BAD_CENTRAL_DIRECTORY', `${label}: corrupt central directory record at offset ${cdOffset + p}`);
    }
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const end = p + CD_RECORD_MIN_SIZE + nameLength + extraLength + commentLength;
    if (end > cd.length) {
      throw new ApkError('BAD_CENTRAL_DIRECTORY', `${label}: central directory record at offset ${cdOffset + p} runs past the directory's end`);
    }
    const localHeaderOffset = cd.readUInt32LE(p + 42);
    if (localHeaderOffset >= cdOffset) {
      throw new ApkError(
        'BAD_CENTRAL_DIRECTORY',
        `${label}: entry at CD offset ${cdOffset + p} points at local header ${localHeaderOffset}, past the start of the central directory`,
      );
    }
    entries.push({
      name: cd.toString('utf8', p + CD_RECORD_MIN_SIZE, p + CD_RECORD_MIN_SIZE + nameLength),
      method: cd.readUInt16LE(p + 10),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      uncompressedSize: cd.readUInt32LE(p + 24),
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
