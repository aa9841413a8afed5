import { createWriteStream } from 'node:fs';
import * as yazl from 'yazl';

export interface ZipFileSpec {
  name: string;
  data: Buffer;
  compress: boolean;
}

/** Writes a plain (unsigned) ZIP with yazl: enough of an APK for aapt and for the readers under test. */
export async function writeZip(path: string, files: readonly ZipFileSpec[]): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(f.data, f.name, { compress: f.compress });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(path)).on('close', resolve).on('error', reject);
  });
}
