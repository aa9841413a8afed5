import { readFile } from 'node:fs/promises';
import { BufferSource } from '../zip/byte-source';

/** An APK file loaded whole: the parsers' own tests read files without the storage layer that opens them for real. */
export async function loadSource(path: string): Promise<BufferSource> {
  return new BufferSource(path, await readFile(path));
}
