import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withFileSource, writePlanToFile, type ChannelPlan, type Digests } from '@subpack/apk';

import { parseServableUrl, parseStorageUrl, StorageUrlError } from './storage-url';

const EXISTING_CHECK_BYTES = 1024 * 1024;

/** One channel APK to store: the master's bytes up to the prefix, then the tail. */
export interface StoreRequest {
  masterPath: string;
  plan: ChannelPlan;
  /** Path relative to the target prefix, already checked to stay inside it. */
  name: string;
  digests: Digests;
}

export interface StoredObject {
  url: string;
  bytes: number;
}

/**
 * Where channel APKs go. Object stores implement the same call with a server-side copy of the prefix from a master
 * object (UploadPartCopy) followed by the tail as the last part, so only the tail crosses the network.
 */
export interface ChannelTarget {
  readonly url: string;
  /** An object that already holds exactly these bytes, so a redelivery can skip the write. */
  existing(req: StoreRequest): Promise<StoredObject | null>;
  store(req: StoreRequest): Promise<StoredObject>;
}

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
      fromPrefix > 0 ? await withFileSource(req.masterPath, (src) => src.read(start, fromPrefix)) : Buffer.alloc(0),
      req.plan.tail.subarray(Math.max(0, start - req.plan.prefixLength)),
    ]);
    const actual = await withFileSource(path, (src) => src.read(start, compare));
    return actual.equals(expected) ? { url: pathToFileURL(path).href, bytes: st.size } : null;
  }

  async store(req: StoreRequest): Promise<StoredObject> {
    const out = this.pathOf(req.name);
    await mkdir(dirname(out), { recursive: true });
    await writePlanToFile(req.masterPath, req.plan, out);
    return { url: pathToFileURL(out).href, bytes: req.plan.size };
  }
}

/** Throws StorageUrlError (bad input, permanent) for a URL this deployment cannot serve. */
export function openTarget(targetUrl: string): ChannelTarget {
  const parsed = parseServableUrl(targetUrl, 'target');
  if (parsed.scheme === 'file') return new FileTarget(targetUrl, parsed.path);
  throw new StorageUrlError(`target: no writer for ${parsed.scheme}:// targets: ${targetUrl}`);
}

/** The directory that naming templates must stay inside, for the same check the CLI applies to --out. */
export function targetRoot(targetUrl: string): string {
  const parsed = parseStorageUrl(targetUrl, 'target');
  return parsed.scheme === 'file' ? parsed.path : `/${parsed.bucket}/${parsed.key}`;
}
