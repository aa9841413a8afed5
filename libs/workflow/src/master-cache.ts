import { PrefixDigests } from '@subpack/apk';
import { loadMaster, type MasterInfo } from '@subpack/pack';
import { resolveMaster, type LocalMaster } from '@subpack/storage';

export interface CachedMaster extends MasterInfo {
  local: LocalMaster;
}

/**
 * Masters are analysed once per process: the tail and manifest by file identity, and the prefix digests (one read of
 * the master, which also yields its content hash) once per prefix length. Hundreds of batches of one task hit the cache.
 */
export class MasterCache {
  private readonly masters = new Map<string, Promise<CachedMaster>>();
  private readonly digests = new Map<string, Promise<PrefixDigests>>();

  constructor(private readonly maxEntries = 8) {}

  async get(masterUrl: string): Promise<CachedMaster> {
    const local = await resolveMaster(masterUrl);
    const key = `${local.path}|${local.identity}`;
    let entry = this.masters.get(key);
    if (!entry) {
      entry = loadMaster(local.path).then((m) => ({ ...m, local }));
      this.remember(this.masters, key, entry);
    }
    return entry;
  }

  /** Prefix digests plus the whole master's SHA-256, from one streaming read. */
  async digestsFor(master: CachedMaster, k: number): Promise<PrefixDigests> {
    const key = `${master.local.path}|${master.local.identity}|${k}`;
    let entry = this.digests.get(key);
    if (!entry) {
      entry = PrefixDigests.compute(master.local.path, k, { fileSha256: true });
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
