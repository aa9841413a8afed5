import { constants } from 'node:fs';
import { copyFile, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChannelPlan } from './plan';

/** Partial files of writers on other hosts (a shared volume) are only swept once clearly abandoned. */
const FOREIGN_PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_');

function partialPrefix(outPath: string): string {
  return `.${basename(outPath)}.`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files that a killed writer left for this output: `.<name>.<host>.<pid>.<rand>.partial`. A writer on
 * this host whose process is gone left it for good; a foreign host's file is removed only when it is old. Live
 * writers' files (a concurrent duplicate delivery) are left alone.
 */
async function sweepAbandonedPartials(outPath: string): Promise<void> {
  const dir = dirname(outPath);
  const prefix = partialPrefix(outPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const m = /^(.+)\.(\d+)\.[0-9a-f]+\.partial$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const [, host, pid] = m;
    let abandoned = host === HOST ? !isAlive(Number(pid)) : false;
    if (!abandoned && host !== HOST) {
      const st = await stat(join(dir, name)).catch(() => null);
      abandoned = st !== null && Date.now() - st.mtimeMs > FOREIGN_PARTIAL_MAX_AGE_MS;
    }
    if (abandoned) await rm(join(dir, name), { force: true });
  }
}

/**
 * The one place a plan becomes a file: a kernel-side copy of the master (reflink or copy_file_range, as `cp` does),
 * cut to the prefix, then the tail written after it. The file appears under its final name only when complete.
 */
export async function writePlanToFile(masterPath: string, plan: ChannelPlan, outPath: string): Promise<void> {
  await sweepAbandonedPartials(outPath);
  const partial = join(dirname(outPath), `${partialPrefix(outPath)}${HOST}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
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
