/**
 * Random access to an APK's bytes wherever they live (a local file, an object in a store read with range GETs), so
 * parsing never depends on where the master is. `path` labels the source in errors: a file path or an object URL.
 * Opening one is the storage layer's business; the parsers only read.
 */
export interface ByteSource {
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or an error. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** Bytes already in memory, read as a source: small inputs, and APKs a test has built or loaded. */
export class BufferSource implements ByteSource {
  constructor(
    readonly path: string,
    private readonly bytes: Buffer,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.path}: read [${offset}, ${offset + length}) outside ${this.size} bytes`);
    }
    // A copy, as a file read would give: parsers may patch what they read without touching the source.
    return Buffer.from(this.bytes.subarray(offset, offset + length));
  }
}
