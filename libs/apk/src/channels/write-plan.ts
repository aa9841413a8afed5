import { constants } from 'node:fs';
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChannelPlan } from './plan';

/**
 * The one place a plan becomes a file: a kernel-side copy of the master (reflink or copy_file_range, as `cp` does),
 * cut to the prefix, then the tail written after it. The file appears under its final name only when complete.
 */
export async function writePlanToFile(masterPath: string, plan: ChannelPlan, outPath: string): Promise<void> {
  const partial = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await copyFile(masterPath, partial, constants.COPYFILE_FICLONE);
    const fh = await open(partial, 'r+');
    try {
      await fh.truncate(plan.prefixLength);
      let written = 0;
      while (written < plan.tail.length) {
        const { bytesWritten } = await fh.write(plan.tail, written, plan.tail.length - written, plan.prefixLength + written);
        written += bytesWritten;
      }
    } finally {
      await fh.close();
    }
    await rename(partial, outPath);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
