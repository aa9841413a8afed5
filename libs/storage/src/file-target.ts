import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileMaster } from './master-source';
import { LeavesRootError, descriptorPath, openDirectoryWithin, resolveBeyond } from './real-path';
import type { StorageRoots } from './roots';
import type { ChannelTarget, StoredObject, StoreRequest } from './target';
import { writePlanToFile, writeStreamedPlanToFile } from './write-plan';

const EXISTING_CHECK_BYTES = 1024 * 1024;

/**
 * Channel APKs as files under a local directory. Files are only ever reached through directories opened one at a
 * time from the root and checked to be inside it (the allowed roots, or the target directory itself when there are
 * none), so a link inside the target cannot carry a write outside.
 */
export class FileTarget implements ChannelTarget {
  readonly needsDigests = false;

  constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly roots?: StorageRoots,
  ) {}

  get root(): string {
    return this.dir;
  }

  /** A missing directory is created with the first channel; every other problem is the file system's, per file. */
  async check(): Promise<void> {}

  private pathOf(name: string): string {
    return join(this.dir, name);
  }

  private located?: Promise<{ root: string; below: string[] }>;

  /**
   * The real root to walk from and the target directory's components below it, resolved once per target: every
   * channel goes to the same directory. Each walk still checks every directory it opens against the root by its
   * descriptor, so a link swapped in later cannot carry a write outside.
   */
  private locate(): Promise<{ root: string; below: string[] }> {
    this.located ??= (async () => {
      if (!this.roots) return { root: await resolveBeyond(this.dir), below: [] };
      const found = await this.roots.checkReal(this.url, this.dir, 'target');
      if (found === null) throw this.refusal('');
      return { root: found.root, below: found.real.slice(found.root.length).split('/') };
    })();
    // A failed resolution (a directory not made yet, a refusal) is tried again by the next channel.
    this.located.catch(() => {
      this.located = undefined;
    });
    return this.located;
  }

  private refusal(name: string): Error {
    return this.roots ? this.roots.refusal(this.url, 'target') : new LeavesRootError(`target ${this.url}: ${name} leads out of the target directory through a link`);
  }

  /** The directory the channel file `name` goes in, opened inside its root; null when it does not exist and `create` is off. */
  private async directoryOf(name: string, create: boolean): Promise<FileHandle | null> {
    const { root, below } = await this.locate();
    const parts = [...below, ...posix.dirname(name).split('/')];
    try {
      return await openDirectoryWithin(root, parts, create);
    } catch (err) {
      if (err instanceof LeavesRootError) throw this.refusal(name);
      throw err;
    }
  }

  /**
   * Files appear only by atomic rename when complete, so a file of the right size is a finished write, but maybe of
   * another build. Its end is compared with what this write would produce: the last MiB covers the signing block
   * (whose signatures digest everything before it) or the central directory (which carries every entry's CRC), so
   * a match is this very APK, found in O(tail) instead of by hashing hundreds of MB. A link under the name is never a
   * finished write: the store replaces it.
   */
  async existing(req: StoreRequest): Promise<StoredObject | null> {
    if (posix.dirname(req.name) === '.') {
      await this.locate(); // a target outside its roots is refused here as in store, found or not
      // Most names are new: one lstat says so. It only ever leads to a write, which takes the checked way below, so a
      // link that fools it changes nothing but whether identical bytes are written again. A name with directories
      // takes the checked way at once: a link among them is refused whether or not anything is behind it.
      const there = await lstat(this.pathOf(req.name)).catch(() => null);
      if (!there?.isFile() || there.size !== req.plan.size) return null;
    }
    const dir = await this.directoryOf(req.name, false);
    if (!dir) return null;
    let file: FileHandle | null = null;
    try {
      file = await open(`${descriptorPath(dir)}/${posix.basename(req.name)}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
      if (!file) return null;
      const st = await file.stat();
      if (!st.isFile() || st.size !== req.plan.size) return null;
      const compare = Math.min(req.plan.size, Math.max(req.plan.tail.length, EXISTING_CHECK_BYTES));
      const start = req.plan.size - compare;
      const fromPrefix = Math.max(0, req.plan.prefixLength - start);
      const expected = Buffer.concat([
        fromPrefix > 0 ? await req.master.read(start, fromPrefix) : Buffer.alloc(0),
        req.plan.tail.subarray(Math.max(0, start - req.plan.prefixLength)),
      ]);
      const actual = Buffer.alloc(compare);
      let done = 0;
      while (done < compare) {
        const { bytesRead } = await file.read(actual, done, compare - done, start + done);
        if (bytesRead === 0) return null;
        done += bytesRead;
      }
      return actual.equals(expected) ? { url: pathToFileURL(this.pathOf(req.name)).href, bytes: st.size } : null;
    } finally {
      await file?.close();
      await dir.close();
    }
  }

  async store(req: StoreRequest): Promise<StoredObject> {
    const dir = await this.directoryOf(req.name, true);
    if (!dir) throw new Error(`target ${this.url}: no directory for ${req.name}`);
    try {
      const out = `${descriptorPath(dir)}/${posix.basename(req.name)}`;
      const master = req.master;
      if (master instanceof FileMaster) await master.withVerifiedPath((path) => writePlanToFile(path, req.plan, out));
      else await writeStreamedPlanToFile(master.url, master.stream(0, req.plan.prefixLength), req.plan, out);
    } finally {
      await dir.close();
    }
    return { url: pathToFileURL(this.pathOf(req.name)).href, bytes: req.plan.size, method: 'file' };
  }
}

