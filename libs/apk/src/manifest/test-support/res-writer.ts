/**
 * A small writer for Android's binary resource formats, for tests: string pools, binary XML and resources.arsc with
 * the layouts aapt never writes (sparse and offset16 TYPE chunks, compact and shared entries, hardened XML).
 */

export const T = {
  NULL: 0x00,
  REFERENCE: 0x01,
  STRING: 0x03,
  INT_DEC: 0x10,
  INT_HEX: 0x11,
  BOOL: 0x12,
} as const;

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

/** A chunk: 8-byte ResChunk_header, then `header` (the rest of the header), then `body`. */
export function chunk(type: number, header: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const headerSize = 8 + header.length;
  return Buffer.concat([u16(type), u16(headerSize), u32(headerSize + body.length), header, body]);
}

export interface PoolOptions {
  utf8?: boolean;
  /**
   * Write UTF-8 lengths over 0x7fff truncated to 15 bits, as old encoders did (androidfw recovers the real length
   * from the terminator).
   */
  truncateLongUtf8?: boolean;
}

function utf8Length(n: number, truncate: boolean): Buffer {
  if (n > 0x7fff && !truncate) throw new Error(`UTF-8 length ${n} does not fit in 15 bits`);
  const v = n & 0x7fff;
  return v > 0x7f ? Buffer.from([0x80 | (v >> 8), v & 0xff]) : Buffer.from([v]);
}

function utf16Length(n: number): Buffer {
  return n > 0x7fff ? Buffer.concat([u16(0x8000 | (n >>> 16)), u16(n & 0xffff)]) : u16(n);
}

/** A ResStringPool chunk. */
export function stringPool(strings: readonly string[], opts: PoolOptions = {}): Buffer {
  const encoded = strings.map((s) => {
    if (!opts.utf8) return Buffer.concat([utf16Length(s.length), Buffer.from(s, 'utf16le'), u16(0)]);
    const bytes = Buffer.from(s, 'utf8');
    const truncate = opts.truncateLongUtf8 ?? false;
    return Buffer.concat([utf8Length(s.length, truncate), utf8Length(bytes.length, truncate), bytes, u8(0)]);
  });
  const offsets: Buffer[] = [];
  let at = 0;
  for (const e of encoded) {
    offsets.push(u32(at));
    at += e.length;
  }
  const headerSize = 28;
  const stringsStart = headerSize + 4 * strings.length;
  const header = Buffer.concat([u32(strings.length), u32(0), u32(opts.utf8 ? 0x100 : 0), u32(stringsStart), u32(0)]);
  return chunk(0x0001, header, pad4(Buffer.concat([...offsets, ...encoded])));
}

// ---------------------------------------------------------------------------------------------------------------
// Binary XML

export interface XmlAttrSpec {
  name: string;
  ns?: string;
  resId?: number;
  type: number;
  /** Data for non-string types. */
  data?: number;
  /** The string for STRING values (also written as the raw value). */
  string?: string;
}

export interface XmlElementSpec {
  name: string;
  attrs?: XmlAttrSpec[];
  children?: XmlElementSpec[];
}

export interface XmlOptions {
  utf8?: boolean;
  /** The outer chunk's type; 0x0003 unless a test wants to prove it is not checked. */
  outerType?: number;
}

export const ANDROID_NS = 'http://schemas.android.com/apk/res/android';
const NO_STRING = 0xffffffff;

/** Builds binary XML the way aapt lays it out: pool, resource map, namespace, elements. */
export function buildXml(root: XmlElementSpec, opts: XmlOptions = {}): Buffer {
  // Names with resource ids come first, so the resource map (index -> id) covers exactly them; a name used with two
  // ids (a decoy) gets two pool entries.
  const mapped: { key: string; name: string; id: number }[] = [];
  const walk = (e: XmlElementSpec, visit: (e: XmlElementSpec) => void): void => {
    visit(e);
    for (const c of e.children ?? []) walk(c, visit);
  };
  walk(root, (e) => {
    for (const a of e.attrs ?? []) {
      if (a.resId === undefined) continue;
      const key = `${a.name}\0${a.resId}`;
      if (!mapped.some((m) => m.key === key)) mapped.push({ key, name: a.name, id: a.resId });
    }
  });
  const strings = mapped.map((m) => m.name);
  const index = (s: string): number => {
    let i = strings.indexOf(s, mapped.length);
    if (i === -1) i = strings.push(s) - 1;
    return i;
  };
  const attrName = (a: XmlAttrSpec): number =>
    a.resId === undefined ? index(a.name) : mapped.findIndex((m) => m.key === `${a.name}\0${a.resId}`);
  const nsIndex = index(ANDROID_NS);
  const prefixIndex = index('android');

  const nodes: Buffer[] = [];
  const node = (type: number, ext: Buffer): Buffer => chunk(type, Buffer.concat([u32(1), u32(NO_STRING)]), ext);
  nodes.push(node(0x0100, Buffer.concat([u32(prefixIndex), u32(nsIndex)])));
  const emit = (e: XmlElementSpec): void => {
    const attrs = (e.attrs ?? []).map((a) => {
      const str = a.string !== undefined ? index(a.string) : NO_STRING;
      const ns = a.ns !== undefined ? index(a.ns) : NO_STRING;
      const data = a.type === T.STRING ? str : (a.data ?? 0);
      return Buffer.concat([u32(ns), u32(attrName(a)), u32(str), u16(8), u8(0), u8(a.type), u32(data)]);
    });
    const ext = Buffer.concat([
      u32(NO_STRING), u32(index(e.name)), u16(20), u16(20), u16(attrs.length), u16(0), u16(0), u16(0), ...attrs,
    ]);
    nodes.push(node(0x0102, ext));
    for (const c of e.children ?? []) emit(c);
    nodes.push(node(0x0103, Buffer.concat([u32(NO_STRING), u32(index(e.name))])));
  };
  emit(root);
  nodes.push(node(0x0101, Buffer.concat([u32(prefixIndex), u32(nsIndex)])));

  const resourceMap = chunk(0x0180, Buffer.alloc(0), Buffer.concat(mapped.map((m) => u32(m.id))));
  return chunk(opts.outerType ?? 0x0003, Buffer.alloc(0), Buffer.concat([stringPool(strings, opts), resourceMap, ...nodes]));
}

/** The top-level chunks of a binary XML document (after the outer header). */
export function splitXml(axml: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = axml.readUInt16LE(2); at < axml.length; ) {
    const size = axml.readUInt32LE(at + 4);
    out.push(axml.subarray(at, at + size));
    at += size;
  }
  return out;
}

/**
 * Rewrites a real manifest the way hardening tools do, keeping its meaning: another outer chunk type and a padded
 * outer header, an unknown chunk before the string pool and between nodes, start elements with padded node headers,
 * a gap before the attributes and padded attribute records.
 */
export function hardenXml(axml: Buffer): Buffer {
  const outer = Buffer.alloc(16); // a 16-byte outer header of type 0x7e57; sizes are filled in below
  outer.writeUInt16LE(0x7e57, 0);
  const out: Buffer[] = [outer];
  out.push(chunk(0x0666, Buffer.alloc(0), Buffer.from('hardened')));
  for (const c of splitXml(axml)) {
    const type = c.readUInt16LE(0);
    if (type !== 0x0102) {
      out.push(c);
      if (type === 0x0100) out.push(chunk(0x0777, Buffer.alloc(8), Buffer.from('junk----')));
      continue;
    }
    const headerSize = c.readUInt16LE(2);
    const nodeHeader = c.subarray(8, headerSize);
    const ext = c.subarray(headerSize);
    const attrStart = ext.readUInt16LE(8);
    const attrSize = ext.readUInt16LE(10);
    const count = ext.readUInt16LE(12);
    const gap = 12;
    const newExt = Buffer.from(ext.subarray(0, 20));
    newExt.writeUInt16LE(20 + gap, 8);
    newExt.writeUInt16LE(attrSize + 4, 10);
    const attrs: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      attrs.push(ext.subarray(attrStart + i * attrSize, attrStart + (i + 1) * attrSize), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    }
    out.push(chunk(0x0102, Buffer.concat([nodeHeader, Buffer.alloc(8, 0xcc)]), Buffer.concat([newExt, Buffer.alloc(gap, 0xee), ...attrs])));
  }
  const doc = Buffer.concat(out);
  doc.writeUInt16LE(outer.length, 2);
  doc.writeUInt32LE(doc.length, 4);
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// resources.arsc

export type EntrySpec =
  | { key: number; type: number; data: number }
  | { key: number; bag: { name: number; type: number; data: number }[] }
  /** Points this index at the same bytes as entry `sameAs`. */
  | { sameAs: number };

export interface ConfigSpec {
  language?: string;
  region?: string;
  density?: number;
  /** ResTable_config size; 64 today, 28 in old files. */
  size?: number;
}

export interface TypeSpec {
  typeId: number;
  config?: ConfigSpec;
  entries: (EntrySpec | null)[];
  layout?: 'dense' | 'offset16' | 'sparse';
  /** Write simple entries in the compact form (flag 0x08). */
  compact?: boolean;
}

/** Two letters as-is, three packed into 15 bits (ResTable_config::packLanguageOrRegion). */
function packCode(code: string | undefined, base: number): Buffer {
  if (!code) return Buffer.alloc(2);
  if (code.length === 2) return Buffer.from(code, 'latin1');
  const [first, second, third] = [...code].map((c) => c.charCodeAt(0) - base) as [number, number, number];
  return Buffer.from([0x80 | (third << 2) | (second >> 3), ((second & 0x07) << 5) | first]);
}

export function config(spec: ConfigSpec = {}): Buffer {
  const size = spec.size ?? 64;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, 0);
  packCode(spec.language, 0x61).copy(b, 8);
  packCode(spec.region, 0x30).copy(b, 10);
  if (spec.density) b.writeUInt16LE(spec.density, 14);
  return b;
}

function entryBytes(e: Exclude<EntrySpec, { sameAs: number }>, compact: boolean): Buffer {
  if ('bag' in e) {
    const items = e.bag.map((m) => Buffer.concat([u32(m.name), u16(8), u8(0), u8(m.type), u32(m.data)]));
    return Buffer.concat([u16(16), u16(0x0001), u32(e.key), u32(0), u32(items.length), ...items]);
  }
  if (compact) return Buffer.concat([u16(e.key), u16(0x0008 | (e.type << 8)), u32(e.data)]);
  return Buffer.concat([u16(8), u16(0), u32(e.key), u16(8), u8(0), u8(e.type), u32(e.data)]);
}

/** A TYPE chunk (0x0201) in the requested layout. */
export function typeChunk(spec: TypeSpec): Buffer {
  const layout = spec.layout ?? 'dense';
  const offsets: (number | null)[] = [];
  const blobs: Buffer[] = [];
  let at = 0;
  for (const e of spec.entries) {
    if (e === null) {
      offsets.push(null);
    } else if ('sameAs' in e) {
      offsets.push(offsets[e.sameAs] ?? null);
    } else {
      const bytes = entryBytes(e, spec.compact ?? false);
      offsets.push(at);
      blobs.push(bytes);
      at += bytes.length;
    }
  }
  let table: Buffer;
  let flags = 0;
  let entryCount = offsets.length;
  if (layout === 'sparse') {
    flags = 0x01;
    const present = offsets.flatMap((o, idx) => (o === null ? [] : [Buffer.concat([u16(idx), u16(o / 4)])]));
    entryCount = present.length;
    table = Buffer.concat(present);
  } else if (layout === 'offset16') {
    flags = 0x02;
    table = pad4(Buffer.concat(offsets.map((o) => u16(o === null ? 0xffff : o / 4))));
  } else {
    table = Buffer.concat(offsets.map((o) => u32(o === null ? 0xffffffff : o)));
  }
  const cfg = config(spec.config);
  const headerSize = 20 + cfg.length;
  const header = Buffer.concat([u8(spec.typeId), u8(flags), u16(0), u32(entryCount), u32(headerSize + table.length), cfg]);
  return chunk(0x0201, header, Buffer.concat([table, ...blobs]));
}

export interface PackageSpec {
  id: number;
  name: string;
  types: string[];
  keys: string[];
  /** TYPE chunks and anything else, in order. */
  chunks: Buffer[];
}

export function packageChunk(spec: PackageSpec): Buffer {
  const name = Buffer.alloc(256);
  name.write(spec.name, 'utf16le');
  const typePool = stringPool(spec.types, { utf8: true });
  const keyPool = stringPool(spec.keys, { utf8: true });
  const headerSize = 288;
  const header = Buffer.concat([
    u32(spec.id), name, u32(headerSize), u32(spec.types.length), u32(headerSize + typePool.length), u32(spec.keys.length), u32(0),
  ]);
  return chunk(0x0200, header, Buffer.concat([typePool, keyPool, ...spec.chunks]));
}

/** A resources.arsc: table header, global (value) string pool, packages. */
export function buildArsc(globalStrings: readonly string[], packages: readonly Buffer[], opts: PoolOptions = { utf8: true }): Buffer {
  return chunk(0x0002, u32(packages.length), Buffer.concat([stringPool(globalStrings, opts), ...packages]));
}
