import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileMaster, StorageError, type MasterSource } from '@subpack/storage';

/**
 * One version of a master, held for the length of a response. Its identity is that of the bytes it returns, so a
 * master replaced mid-download cannot splice two versions into one body: a file is held open (a rename over it
 * leaves the open version intact), an object is read with range GETs guarded by the ETag it was opened with.
 */
export interface PinnedMaster {
  readonly identity: string;
  /** The file's mtime; objects have none here (their ETag is the validator). */
  readonly modifiedMs: number | undefined;
  /** Writes bytes `start..end` inclusive to `out` with backpressure; rejects if `out` closes first. */
  writeRange(start: number, end: number, out: Writable): Promise<void>;
  close(): Promise<void>;
}

/** Each read fills this much: a 300 MB APK is ~1,200 reads, and a download holds two such buffers, whatever its size. */
const READ_CHUNK = 256 * 1024;

class PinnedFile implements PinnedMaster {
  constructor(
    private readonly handle: FileHandle,
    readonly identity: string,
    readonly modifiedMs: number,
  ) {}

  /**
   * Double-buffered: one buffer is read from the file while the other is being written, and a buffer is reused only
   * once `out` has taken its bytes. A stream per download allocates a fresh buffer for every chunk; measured under
   * 32 concurrent 300 MB downloads, that halved throughput.
   */
  async writeRange(start: number, end: number, out: Writable): Promise<void> {
    const closed = closedEarly(out);
    try {
      const buffers = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)] as const;
      const pending: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
      let position = start;
      for (let turn: 0 | 1 = 0; position <= end; turn = turn === 0 ? 1 : 0) {
        await Promise.race([pending[turn], closed.promise]);
        const buf = buffers[turn];
        const { bytesRead } = await this.handle.read(buf, 0, Math.min(buf.length, end - position + 1), position);
        if (bytesRead === 0) throw new Error(`master ended at byte ${position}, before ${end + 1}`);
        position += bytesRead;
        const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        pending[turn] = new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
        pending[turn].catch(() => undefined);
      }
      await Promise.race([Promise.all(pending), closed.promise]);
    } finally {
      closed.dispose();
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class PinnedObject implements PinnedMaster {
  readonly modifiedMs = undefined;

  constructor(private readonly source: MasterSource) {}

  get identity(): string {
    return this.source.identity;
  }

  writeRange(start: number, end: number, out: Writable): Promise<void> {
    return pipeline(this.source.stream(start, end + 1), out, { end: false });
  }

  async close(): Promise<void> {}
}

/** Rejects when `out` closes before the caller is done with it: a client that went away stops the reads at once. */
function closedEarly(out: Writable): { promise: Promise<never>; dispose(): void } {
  let onClose = (): void => undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(Object.assign(new Error('the client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    out.once('close', onClose);
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => out.off('close', onClose) };
}

/**
 * Pins the version of `source` that was analysed, or returns null when the file has already moved on (the caller
 * then analyses the new version).
 */
export async function pinMaster(source: MasterSource): Promise<PinnedMaster | null> {
  if (!(source instanceof FileMaster)) return new PinnedObject(source);
  let handle: FileHandle;
  try {
    handle = await source.openVerified();
  } catch (err) {
    // Removed or replaced since it was opened for analysis: the caller opens it afresh (checking it against the
    // roots again) and reports what it finds.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof StorageError) return null;
    throw err;
  }
  return new PinnedFile(handle, source.identity, (await handle.stat()).mtimeMs);
}
