import { open, type FileHandle } from 'node:fs/promises';
import { ApkError } from '../errors';

/**
 * Random access to an APK's bytes wherever they live (a local file, an object in a store read with range GETs), so
 * parsing never depends on where the master is. `path` labels the source in errors: a file path or an object URL.
 */
export interface ByteSource {
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or an error. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** Positional reads from a file, so the APK's bulk is never loaded: callers ask for the ranges they need. */
export class FileSource implements ByteSource {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      // Checked on the open descriptor: a directory, a device or a FIFO is the wrong argument, not a broken APK.
      if (!st.isFile()) throw new ApkError('NOT_A_FILE', `${path}: not a regular file (${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'})`);
      return new FileSource(path, fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Reads exactly `length` bytes at `offset`; a short read means the file changed or lied about its size. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.path}: read [${offset}, ${offset + length}) outside file of ${this.size} bytes`);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new RangeError(`${this.path}: unexpected end of file at ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens a source, runs `fn`, and always closes it. */
export async function withFileSource<T>(path: string, fn: (src: FileSource) => Promise<T>): Promise<T> {
  const src = await FileSource.open(path);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}
