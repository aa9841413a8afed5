import { open, type FileHandle } from 'node:fs/promises';

/** Positional reads from a file, so the APK's bulk is never loaded: callers ask for the ranges they need. */
export class FileSource {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${path}: not a regular file`);
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
