import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePlanToFile, type ChannelPlan, type Digests } from '@subpack/apk';
import { parseStorageUrl } from './storage-url';

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
  existing(name: string, expected: { bytes: number; digests: Digests }): Promise<StoredObject | null>;
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

  async existing(name: string, expected: { bytes: number }): Promise<StoredObject | null> {
    try {
      const st = await stat(this.pathOf(name));
      // Files appear only by atomic rename when complete, so the right size means our own finished write.
      return st.isFile() && st.size === expected.bytes ? { url: pathToFileURL(this.pathOf(name)).href, bytes: st.size } : null;
    } catch {
      return null;
    }
  }

  async store(req: StoreRequest): Promise<StoredObject> {
    const out = this.pathOf(req.name);
    await mkdir(dirname(out), { recursive: true });
    await writePlanToFile(req.masterPath, req.plan, out);
    return { url: pathToFileURL(out).href, bytes: req.plan.size };
  }
}

export function openTarget(targetUrl: string): ChannelTarget {
  const parsed = parseStorageUrl(targetUrl, 'target');
  if (parsed.scheme === 'file') return new FileTarget(targetUrl, parsed.path);
  throw new Error(`target: ${parsed.scheme}:// targets are not supported by this deployment yet; use file://`);
}

/** The directory that naming templates must stay inside, for the same check the CLI applies to --out. */
export function targetRoot(targetUrl: string): string {
  const parsed = parseStorageUrl(targetUrl, 'target');
  return parsed.scheme === 'file' ? parsed.path : `/${parsed.bucket}/${parsed.key}`;
}
