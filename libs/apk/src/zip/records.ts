/**
 * The fixed-size records of a ZIP archive and of the APK Signing Block, each described once as named little-endian
 * fields (offset, size). Readers and writers both go through these tables, so no field offset or magic number is
 * written out anywhere else.
 */

/** A little-endian unsigned field. u64 values are returned as numbers; callers check `Number.isSafeInteger`. */
interface NumberField {
  readonly size: 2 | 4 | 8;
}
/** A field whose bytes are fixed (a signature or magic): written by `write`, checked by `matches`, never returned. */
interface ConstantField {
  readonly size: number;
  readonly constant: Buffer;
}
type FieldSpec = NumberField | ConstantField;

export const u16: NumberField = { size: 2 };
export const u32: NumberField = { size: 4 };
export const u64: NumberField = { size: 8 };

function signature(value: number): ConstantField {
  const constant = Buffer.alloc(4);
  constant.writeUInt32LE(value, 0);
  return { size: 4, constant };
}

function magic(bytes: Buffer): ConstantField {
  return { size: bytes.length, constant: bytes };
}

/** The names of a record's number fields: what `read` returns and `write` takes. */
export type ValueNames<S> = { [K in keyof S]: S[K] extends ConstantField ? never : K }[keyof S] & string;
export type RecordValues<S> = Record<ValueNames<S>, number>;

export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
}

interface PlacedField {
  readonly key: string;
  readonly offset: number;
  readonly spec: FieldSpec;
}

export class RecordLayout<S extends Record<string, FieldSpec>> {
  /** Bytes of the fixed part; variable-length data (names, comments, values) follows it. */
  readonly size: number;
  readonly fields: { readonly [K in keyof S]: FieldLayout };
  private readonly placed: readonly PlacedField[];

  constructor(
    readonly name: string,
    spec: S,
  ) {
    let offset = 0;
    const placed: PlacedField[] = [];
    const fields: Record<string, FieldLayout> = {};
    for (const [key, field] of Object.entries(spec)) {
      placed.push({ key, offset, spec: field });
      fields[key] = { offset, size: field.size };
      offset += field.size;
    }
    this.size = offset;
    this.placed = placed;
    this.fields = fields as { readonly [K in keyof S]: FieldLayout };
  }

  /** Whether the record's fixed bytes (signature, magic) stand at `at`, with room for the whole fixed part. */
  matches(buf: Buffer, at = 0): boolean {
    if (at < 0 || at + this.size > buf.length) return false;
    return this.placed.every(
      ({ offset, spec }) => !('constant' in spec) || buf.subarray(at + offset, at + offset + spec.size).equals(spec.constant),
    );
  }

  /** The number fields of the record at `at`. The caller has checked there is room (`matches` does). */
  read(buf: Buffer, at = 0): RecordValues<S> {
    const out: Record<string, number> = {};
    for (const { key, offset, spec } of this.placed) {
      if (!('constant' in spec)) out[key] = readNumber(buf, at + offset, spec.size);
    }
    return out as RecordValues<S>;
  }

  /** A new buffer holding the fixed part, constants included. */
  write(values: RecordValues<S>): Buffer {
    const out = Buffer.alloc(this.size);
    for (const { offset, spec } of this.placed) if ('constant' in spec) spec.constant.copy(out, offset);
    this.patch(out, 0, values);
    return out;
  }

  /** Overwrites the given number fields of the record at `at`, leaving every other byte as it is. */
  patch(buf: Buffer, at: number, values: Partial<RecordValues<S>>): void {
    const given = values as Partial<Record<string, number>>;
    for (const key of Object.keys(given)) {
      const field = this.placed.find((f) => f.key === key);
      if (!field || 'constant' in field.spec) throw new Error(`${this.name}: ${key} is not a number field`);
    }
    for (const { key, offset, spec } of this.placed) {
      const value = given[key];
      if (value !== undefined && !('constant' in spec)) writeNumber(buf, at + offset, spec.size, value);
    }
  }
}

function readNumber(buf: Buffer, at: number, size: 2 | 4 | 8): number {
  if (size === 2) return buf.readUInt16LE(at);
  if (size === 4) return buf.readUInt32LE(at);
  return Number(buf.readBigUInt64LE(at));
}

function writeNumber(buf: Buffer, at: number, size: 2 | 4 | 8, value: number): void {
  if (size === 2) buf.writeUInt16LE(value, at);
  else if (size === 4) buf.writeUInt32LE(value, at);
  else buf.writeBigUInt64LE(BigInt(value), at);
}

/** The largest value of a 16-bit field: ZIP's entry-count and comment-length limit. */
export const U16_MAX = 0xffff;
/** The largest value of a 32-bit field: ZIP's size and offset limit (4 GiB), and Android's. */
export const U32_MAX = 0xffffffff;
/** A 16-bit or 32-bit field holding all ones says "look in the ZIP64 record". */
export const ZIP64_MARKER = { u16: U16_MAX, u32: U32_MAX } as const;

/** End of Central Directory record (APPNOTE 4.3.16); the archive comment follows it. */
export const EOCD = new RecordLayout('End of Central Directory record', {
  signature: signature(0x06054b50),
  diskNumber: u16,
  cdDisk: u16,
  entriesOnDisk: u16,
  entryCount: u16,
  cdSize: u32,
  cdOffset: u32,
  commentLength: u16,
});

/** ZIP64 End of Central Directory locator (APPNOTE 4.3.15): sits right before the EOCD of a ZIP64 archive. */
export const ZIP64_EOCD_LOCATOR = new RecordLayout('ZIP64 End of Central Directory locator', {
  signature: signature(0x07064b50),
  eocd64Disk: u32,
  eocd64Offset: u64,
  diskCount: u32,
});

/** The run of fields a local file header and its central-directory record share, in the same order. */
const ENTRY_FIELDS = {
  versionNeeded: u16,
  flags: u16,
  method: u16,
  modTime: u16,
  modDate: u16,
  crc32: u32,
  compressedSize: u32,
  uncompressedSize: u32,
  nameLength: u16,
  extraLength: u16,
} as const;

/** Central-directory file header (APPNOTE 4.3.12); the name, extra field and comment follow it. */
export const CD_RECORD = new RecordLayout('central directory record', {
  signature: signature(0x02014b50),
  versionMadeBy: u16,
  ...ENTRY_FIELDS,
  commentLength: u16,
  diskStart: u16,
  internalAttributes: u16,
  externalAttributes: u32,
  localHeaderOffset: u32,
});

/** Local file header (APPNOTE 4.3.7); the name and extra field follow it, then the entry's data. */
export const LOCAL_FILE_HEADER = new RecordLayout('local file header', {
  signature: signature(0x04034b50),
  ...ENTRY_FIELDS,
});

export const SIGNING_BLOCK_MAGIC = Buffer.from('APK Sig Block 42', 'latin1');

/**
 * APK Signing Block: `u64 size` (header), pairs of `u64 length, u32 id, value[length - 4]`, then `u64 size` and the
 * magic (footer). Both size fields count every byte of the block except the leading size field itself.
 */
export const SIGNING_BLOCK_HEADER = new RecordLayout('APK Signing Block header', { size: u64 });
export const SIGNING_BLOCK_PAIR = new RecordLayout('APK Signing Block pair header', { length: u64, id: u32 });
export const SIGNING_BLOCK_FOOTER = new RecordLayout('APK Signing Block footer', { size: u64, magic: magic(SIGNING_BLOCK_MAGIC) });
/** A pair's length field counts its id as well as its value. */
export const SIGNING_BLOCK_PAIR_ID_SIZE = SIGNING_BLOCK_PAIR.fields.id.size;

/** ZIP's method numbers (APPNOTE 4.4.5) that channel writing uses. */
export const ZIP_METHOD = { stored: 0, deflated: 8 } as const;
/** General-purpose flag bit 11 (APPNOTE 4.4.4): the name is UTF-8. */
export const ZIP_FLAG_UTF8_NAME = 0x0800;
