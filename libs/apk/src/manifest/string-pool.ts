import { readChunk, type Chunk } from './chunk';

const FLAG_UTF8 = 0x100;
/** ResStringPool_header: chunk header + stringCount, styleCount, flags, stringsStart, stylesStart. */
const POOL_HEADER_SIZE = 28;

/**
 * A ResStringPool (UTF-8 or UTF-16), decoded lazily: framework-res's pools hold tens of thousands of strings and a
 * manifest reader needs a handful. Mirrors androidfw's ResStringPool::stringAt, including its leniency: a string
 * whose bytes are bad reads as null instead of failing the whole pool.
 */
export class StringPool {
  readonly count: number;
  readonly utf8: boolean;
  private readonly offsetsStart: number;
  private readonly stringsStart: number;
  private readonly stringsEnd: number;
  private readonly cache = new Map<number, string | null>();

  private constructor(private readonly buf: Buffer, chunk: Chunk) {
    if (chunk.headerSize < POOL_HEADER_SIZE) {
      throw new Error(`string pool at offset ${chunk.start}: header size ${chunk.headerSize} is smaller than ${POOL_HEADER_SIZE}`);
    }
    const at = chunk.start;
    this.count = buf.readUInt32LE(at + 8);
    const flags = buf.readUInt32LE(at + 16);
    const stringsStart = buf.readUInt32LE(at + 20);
    const stylesStart = buf.readUInt32LE(at + 24);
    this.utf8 = (flags & FLAG_UTF8) !== 0;
    this.offsetsStart = at + chunk.headerSize;
    if (this.count * 4 > chunk.size - chunk.headerSize) {
      throw new Error(`string pool at offset ${at}: ${this.count} string offsets do not fit in its ${chunk.size} bytes`);
    }
    this.stringsStart = at + stringsStart;
    // Strings end where the styles begin, or at the end of the chunk.
    this.stringsEnd = at + (stylesStart !== 0 && stylesStart < chunk.size ? stylesStart : chunk.size);
    if (this.count > 0 && (stringsStart < chunk.headerSize || this.stringsStart >= this.stringsEnd)) {
      throw new Error(`string pool at offset ${at}: strings start ${stringsStart} is outside the chunk`);
    }
  }

  /** Parses the string pool chunk at `offset`, which must end by `limit`. */
  static parse(buf: Buffer, offset = 0, limit = buf.length): StringPool {
    return new StringPool(buf, readChunk(buf, offset, limit, 'string pool'));
  }

  static fromChunk(buf: Buffer, chunk: Chunk): StringPool {
    return new StringPool(buf, chunk);
  }

  /** The string at `index`, or null when the index is out of range or the string is malformed. */
  get(index: number): string | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return null;
    let s = this.cache.get(index);
    if (s === undefined) {
      s = this.decode(index);
      this.cache.set(index, s);
    }
    return s;
  }

  private decode(index: number): string | null {
    const start = this.stringsStart + this.buf.readUInt32LE(this.offsetsStart + index * 4);
    return this.utf8 ? this.decodeUtf8(start) : this.decodeUtf16(start);
  }

  private decodeUtf16(start: number): string | null {
    const { buf, stringsEnd } = this;
    if (start + 2 > stringsEnd) return null;
    let length = buf.readUInt16LE(start);
    let chars = start + 2;
    if (length & 0x8000) {
      if (start + 4 > stringsEnd) return null;
      length = ((length & 0x7fff) << 16) | buf.readUInt16LE(start + 2);
      chars = start + 4;
    }
    const end = chars + length * 2;
    // Android rejects strings that run out of the pool or lack their terminator.
    if (end + 2 > stringsEnd || buf.readUInt16LE(end) !== 0) return null;
    return buf.toString('utf16le', chars, end);
  }

  private decodeUtf8(start: number): string | null {
    const { buf, stringsEnd } = this;
    // UTF-16 length first (unused), then the UTF-8 byte length; each is 1 byte, or 2 when the high bit is set.
    const utf16Length = readUtf8Length(buf, start, stringsEnd);
    if (utf16Length === null) return null;
    const byteLength = readUtf8Length(buf, utf16Length.next, stringsEnd);
    if (byteLength === null) return null;
    const bytes = byteLength.next;
    // Old encoders truncated byte lengths over 0x7fff; androidfw finds the real length by trying
    // length | (k << 15) until it lands on the terminator (ResStringPool::stringDecodeAt). So do we.
    for (let k = 0, len = byteLength.value; bytes + len < stringsEnd; len = (++k * 0x8000) | byteLength.value) {
      if (buf[bytes + len] === 0) return buf.toString('utf8', bytes, bytes + len);
    }
    return null;
  }
}

function readUtf8Length(buf: Buffer, at: number, end: number): { value: number; next: number } | null {
  if (at >= end) return null;
  const first = buf.readUInt8(at);
  if ((first & 0x80) === 0) return { value: first, next: at + 1 };
  if (at + 1 >= end) return null;
  return { value: ((first & 0x7f) << 8) | buf.readUInt8(at + 1), next: at + 2 };
}
