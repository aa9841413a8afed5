import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withFileSource } from '@subpack/apk';
import { FileMaster } from './master-source';
import type { ChannelTarget, StoredObject, StoreRequest } from './target';
import { writePlanToFile, writeStreamedPlanToFile } from './write-plan';

const EXISTING_CHECK_BYTES = 1024 * 1024;

/** Channel APKs as files under a local directory. */
export class FileTarget implements ChannelTarget {
  constructor(
    readonly url: string,
    private readonly dir: string,
  ) {}

  private pathOf(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Files appear only by atomic rename when complete, so a file of the right size is a finished write, but maybe of
   * another build. Its end is compared with what this write would produce: the last MiB covers the signing block
   * (whose signatures digest everything before it) or the central directory (which carries every entry's CRC), so
   * a match is this very APK, found in O(tail) instead of by hashing hundreds of MB.
   */
  async existing(req: StoreRequest): Promise<StoredObject | null> {
    const path = this.pathOf(req.name);
    const st = await stat(path).catch(() => null);
    if (!st?.isFile() || st.size !== req.plan.size) return null;
    const compare = Math.min(req.plan.size, Math.max(req.plan.tail.length, EXISTING_CHECK_BYTES));
    const start = req.plan.size - compare;
    const fromPrefix = Math.max(0, req.plan.prefixLength - start);
    const expected = Buffer.concat([
      fromPrefix > 0 ? await req.master.read(start, fromPrefix) : Buffer.alloc(0),
      req.plan.tail.subarray(Math.max(0, start - req.plan.prefixLength)),
    ]);
    const actual = await withFileSource(path, (src) => src.read(start, compare));
    return actual.equals(expected) ? { url: pathToFileURL(path).href, bytes: st.size } : null;
  }

  async store(req: StoreRequest): Promise<StoredObject> {
    const out = this.pathOf(req.name);
    await mkdir(dirname(out), { recursive: true });
    if (req.master instanceof FileMaster) await writePlanToFile(req.master.path, req.plan, out);
    else await writeStreamedPlanToFile(req.master.url, req.master.stream(0, req.plan.prefixLength), req.plan, out);
    return { url: pathToFileURL(out).href, bytes: req.plan.size, method: 'file' };
  }
}
