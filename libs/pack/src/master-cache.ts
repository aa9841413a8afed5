import { PrefixDigests } from '@subpack/apk';
import { loadMaster, type MasterInfo } from './master';
import { FileMaster, openMaster, type MasterSource, type StorageRoots } from '@subpack/storage';

export interface CachedMaster extends MasterInfo {
  source: MasterSource;
}

/**
 * Masters are analysed once per process: the tail and manifest by identity (file dev/ino/mtime or object ETag), and
 * the prefix digests (one read of master[0:k]) once per prefix length. Hundreds of batches of one task hit the cache.
 */
export class MasterCache {
  private readonly masters = new Map<string, Promise<CachedMaster>>();
  private readonly digests = new Map<string, Promise<PrefixDigests>>();

  /** With `roots`, only masters that really lie inside them are opened (see openMaster). */
  constructor(
    private readonly roots?: StorageRoots,
    private readonly maxEntries = 8,
  ) {}

  async get(masterUrl: string): Promise<CachedMaster> {
    const source = await openMaster(masterUrl, this.roots ? { roots: this.roots } : {});
    const key = `${masterUrl}|${source.identity}`;
    let entry = this.masters.get(key);
    if (!entry) {
      entry = loadMaster(source).then((m) => ({ ...m, source }));
      this.remember(this.masters, key, entry);
    }
    return entry;
  }

  /**
   * Prefix digests from one streaming read of master[0:k]. A local master is read to its end as well, for its
   * content hash; an object-store master is identified by its ETag instead, so only its prefix is read.
   */
  async digestsFor(master: CachedMaster, k: number): Promise<PrefixDigests> {
    const key = `${master.source.url}|${master.source.identity}|${k}`;
    let entry = this.digests.get(key);
    if (!entry) {
      const whole = master.source instanceof FileMaster;
      entry = PrefixDigests.fromChunks(master.source.url, k, master.source.stream(0, whole ? master.source.size : k), { fileSha256: whole });
      this.remember(this.digests, key, entry);
    }
    return entry;
  }

  private remember<T>(map: Map<string, Promise<T>>, key: string, value: Promise<T>): void {
    map.set(key, value);
    // A failed analysis must not be cached: the next delivery should try again.
    value.catch(() => map.delete(key));
    while (map.size > this.maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
