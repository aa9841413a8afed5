import { constants } from 'node:fs';
import { copyFile, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChannelPlan } from '@subpack/apk';

/** Partial files of writers on other hosts (a shared volume) are only swept once clearly abandoned. */
const FOREIGN_PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_');

/**
 * How long one process trusts its listing of a directory's partial files: a task writes all its channels into one
 * directory, and reading it for each channel would cost O(n²) in the channels. A process lists a directory at its first
 * write there, so a restarted writer finds what a killed one left.
 */
const LISTING_TTL_MS = 10_000;
/** Partial files seen per directory, by device and inode (the paths written through are descriptor paths, reused). */
const listings = new Map<string, { at: number; partials: string[] }>();

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

/** The names of the partial files in `dir`, read afresh once LISTING_TTL_MS have passed since the last reading. */
async function partialsIn(dir: string): Promise<string[]> {
  const st = await stat(dir).catch(() => null);
  if (st === null) return [];
  const key = `${st.dev}:${st.ino}`;
  const now = Date.now();
  const known = listings.get(key);
  if (known !== undefined && now - known.at < LISTING_TTL_MS) return known.partials;
  const partials = (await readdir(dir).catch(() => [])).filter((name) => name.startsWith('.') && name.endsWith('.partial'));
  if (listings.size > 1000) for (const [k, listing] of listings) if (now - listing.at >= LISTING_TTL_MS) listings.delete(k);
  listings.set(key, { at: now, partials });
  return partials;
}

/**
 * Removes temp files that a killed writer left for this output: `.<name>.<host>.<pid>.<rand>.partial`. A writer on
 * this host whose process is gone left it for good; a foreign host's file is removed only when it is old. Live
 * writers' files (a concurrent duplicate delivery) are left alone.
 */
async function sweepAbandonedPartials(outPath: string): Promise<void> {
  const dir = dirname(outPath);
  const prefix = partialPrefix(outPath);
  const partials = await partialsIn(dir);
  for (const name of partials) {
    if (!name.startsWith(prefix)) continue;
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

async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < buf.length) {
    const { bytesWritten } = await fh.write(buf, written, buf.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * The one place a plan becomes a file: a kernel-side copy of the master into a fresh temporary file (a reflink where
 * the filesystem has them, copy_file_range otherwise, as `cp` does), the tail written at the prefix length, then an
 * atomic rename to the final name. A failed write leaves nothing behind.
 *
 * The temporary file is never truncated to zero and, when the channel APK is at least as long as the master (adding
 * a channel almost always grows it), never truncated at all. On ext4 a truncate to zero makes close() write the whole
 * file back (auto_da_alloc), and a later cut waits for that write-back: that made a channel cost twice a `cp` on a real
 * disk. COPYFILE_EXCL is what keeps libuv from truncating the new file before copying into it.
 */
export async function writePlanToFile(masterPath: string, plan: ChannelPlan, outPath: string): Promise<void> {
  await viaPartial(outPath, async (partial) => {
    await copyFile(masterPath, partial, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    const fh = await open(partial, 'r+');
    try {
      const { size: copied } = await fh.stat();
      if (copied < plan.prefixLength) {
        throw new Error(`${masterPath}: ${copied} bytes, shorter than the planned ${plan.prefixLength}-byte prefix`);
      }
      if (plan.size < copied) await fh.truncate(plan.size);
      await writeFully(fh, plan.tail, plan.prefixLength);
    } finally {
      await fh.close();
    }
  });
}

/**
 * The same for a master that is not a local file (an object read with range GETs): `prefix` streams
 * master[0:prefixLength] into the temporary file, then the tail follows it.
 */
export async function writeStreamedPlanToFile(label: string, prefix: AsyncIterable<Buffer>, plan: ChannelPlan, outPath: string): Promise<void> {
  await viaPartial(outPath, async (partial) => {
    const fh = await open(partial, 'wx');
    try {
      let position = 0;
      for await (const chunk of prefix) {
        if (position + chunk.length > plan.prefixLength) throw new Error(`${label}: more than the planned ${plan.prefixLength}-byte prefix arrived`);
        await writeFully(fh, chunk, position);
        position += chunk.length;
      }
      if (position !== plan.prefixLength) throw new Error(`${label}: ${position} bytes arrived of the planned ${plan.prefixLength}-byte prefix`);
      await writeFully(fh, plan.tail, plan.prefixLength);
    } finally {
      await fh.close();
    }
  });
}

/** Runs `write` on a fresh temporary file next to `outPath` and renames it into place; a failure leaves nothing. */
async function viaPartial(outPath: string, write: (partial: string) => Promise<void>): Promise<void> {
  await sweepAbandonedPartials(outPath);
  const partial = join(dirname(outPath), `${partialPrefix(outPath)}${HOST}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await write(partial);
    await rename(partial, outPath);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
