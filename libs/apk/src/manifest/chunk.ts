/** Chunk types from frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h. */
export const ChunkType = {
  STRING_POOL: 0x0001,
  TABLE: 0x0002,
  XML: 0x0003,
  XML_FIRST_NODE: 0x0100,
  XML_START_NAMESPACE: 0x0100,
  XML_END_NAMESPACE: 0x0101,
  XML_START_ELEMENT: 0x0102,
  XML_END_ELEMENT: 0x0103,
  XML_CDATA: 0x0104,
  XML_LAST_NODE: 0x017f,
  XML_RESOURCE_MAP: 0x0180,
  TABLE_PACKAGE: 0x0200,
  TABLE_TYPE: 0x0201,
  TABLE_TYPE_SPEC: 0x0202,
} as const;

/** The 8-byte ResChunk_header every chunk starts with, located in its buffer. */
export interface Chunk {
  type: number;
  headerSize: number;
  size: number;
  /** Offset of the chunk in the buffer. */
  start: number;
  /** Offset just past the chunk. */
  end: number;
}

export const CHUNK_HEADER_SIZE = 8;

/**
 * Reads the chunk header at `offset` and checks, like androidfw's validate_chunk, that the header is at least
 * `minHeaderSize`, fits in the chunk, and the chunk fits before `limit`. Alignment is not required: being more
 * lenient than Android costs nothing when only reading.
 */
export function readChunk(buf: Buffer, offset: number, limit: number, what: string, minHeaderSize = CHUNK_HEADER_SIZE): Chunk {
  if (offset + CHUNK_HEADER_SIZE > limit) {
    throw new Error(`${what} at offset ${offset}: truncated chunk header (${limit - offset} bytes left)`);
  }
  const type = buf.readUInt16LE(offset);
  const headerSize = buf.readUInt16LE(offset + 2);
  const size = buf.readUInt32LE(offset + 4);
  const at = `${what} (type 0x${type.toString(16).padStart(4, '0')}) at offset ${offset}`;
  if (headerSize < minHeaderSize) throw new Error(`${at}: header size ${headerSize} is smaller than ${minHeaderSize}`);
  if (size < headerSize) throw new Error(`${at}: size ${size} is smaller than its header size ${headerSize}`);
  if (size > limit - offset) throw new Error(`${at}: size ${size} runs past the end (${limit - offset} bytes left)`);
  return { type, headerSize, size, start: offset, end: offset + size };
}

/** The child chunks laid out one after another from `from` to `to`; iteration stops with an error on a bad one. */
export function* childChunks(buf: Buffer, from: number, to: number, what: string): Generator<Chunk> {
  let offset = from;
  while (offset + CHUNK_HEADER_SIZE <= to) {
    const chunk = readChunk(buf, offset, to, what);
    yield chunk;
    offset = chunk.end;
  }
}
