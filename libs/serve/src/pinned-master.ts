import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { MasterUnavailableError, fileIdentity, parseStorageUrl, StorageUrlError } from '@subpack/storage';

/**
 * One version of a master, held open for the length of a response. Its identity is that of the bytes the stream
 * returns, so a master replaced mid-download (by rename, as deployments do) cannot splice two versions into one body.
 */
export interface PinnedMaster {
  readonly identity: string;
  readonly size: number;
  readonly modifiedMs: number;
  /** Bytes `start..end` inclusive, read with backpressure. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** Streams read this much per chunk: big enough that a 300 MB APK is a few hundred reads, small enough to stay flat. */
const READ_CHUNK = 256 * 1024;

class PinnedFile implements PinnedMaster {
  constructor(
    private readonly handle: FileHandle,
    readonly identity: string,
    readonly size: number,
    readonly modifiedMs: number,
  ) {}

  stream(start: number, end: number): Readable {
    return this.handle.createReadStream({ start, end, autoClose: false, highWaterMark: READ_CHUNK });
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export async function pinMaster(masterUrl: string): Promise<PinnedMaster> {
  let parsed;
  try {
    parsed = parseStorageUrl(masterUrl, 'master');
  } catch (err) {
    throw new MasterUnavailableError((err as StorageUrlError).message);
  }
  if (parsed.scheme !== 'file') {
    throw new MasterUnavailableError(`master: ${parsed.scheme}:// masters are not supported by this deployment yet; use file://`);
  }
  let handle: FileHandle;
  try {
    handle = await open(parsed.path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MasterUnavailableError(`master ${parsed.path} does not exist`);
    if (code === 'EACCES') throw new MasterUnavailableError(`master ${parsed.path} is not readable`);
    if (code === 'EISDIR') throw new MasterUnavailableError(`master ${parsed.path} is not a regular file`);
    throw err;
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new MasterUnavailableError(`master ${parsed.path} is not a regular file`);
  }
  return new PinnedFile(handle, fileIdentity(st), st.size, st.mtimeMs);
}
