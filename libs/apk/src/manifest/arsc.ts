import { ChunkType, childChunks, type Chunk } from './chunk';
import { localeScore, parseLocale, readConfig, type LocaleRequest, type ResourceConfig } from './resource-config';
import { StringPool } from './string-pool';
import { decodeValue, type TypedValue } from './typed-value';

/** One value a resource id has in one configuration. */
export interface ResourceEntry {
  config: ResourceConfig;
  key: string | null;
  /** null for complex (bag) entries such as styles and plurals, which have no single value. */
  value: TypedValue | null;
}

/** A file a resource id names in one configuration, such as `res/mipmap-xhdpi-v4/ic_launcher.png`. */
export interface ResourceFile {
  path: string;
  config: ResourceConfig;
}

export interface ResourcePackage {
  id: number;
  name: string;
}

export interface ResolveOptions {
  /** e.g. 'zh-CN', 'zh', 'en'; omitted or '' picks the default config. */
  locale?: string;
  /** How many references to follow before giving up (Android follows up to 20). */
  maxDepth?: number;
}

const TYPE_FLAG_SPARSE = 0x01;
const TYPE_FLAG_OFFSET16 = 0x02;
const ENTRY_FLAG_COMPLEX = 0x0001;
const ENTRY_FLAG_COMPACT = 0x0008;
const NO_ENTRY32 = 0xffffffff;
const NO_ENTRY16 = 0xffff;
/** ResTable_package without the trailing typeIdOffset field, the smallest header Android accepts. */
const PACKAGE_HEADER_MIN = 284;
const PACKAGE_HEADER_WITH_TYPE_ID_OFFSET = 288;
/** ResTable_type up to (not including) its config. */
const TYPE_HEADER_FIXED = 20;
const DEFAULT_MAX_DEPTH = 8;

/** A TYPE chunk located in the buffer; its entries are decoded on demand. */
interface TypeChunk {
  flags: number;
  entryCount: number;
  offsetsStart: number;
  entriesStart: number;
  end: number;
  config: ResourceConfig;
}

interface PackageData {
  id: number;
  name: string;
  typeIdOffset: number;
  typeStrings?: StringPool;
  keyStrings?: StringPool;
  /** TYPE chunks by type id, in file order. */
  types: Map<number, TypeChunk[]>;
}

/**
 * A parsed resources.arsc. Parsing only indexes packages and TYPE chunks; strings and entries are decoded when a
 * resource is asked for, so a 30 MB framework table costs milliseconds.
 */
export class ResourceTable {
  private readonly packageById = new Map<number, PackageData>();
  private globalStrings: StringPool | undefined;

  private constructor(private readonly buf: Buffer) {
    let tables = 0;
    for (const chunk of childChunks(buf, 0, buf.length, 'resources.arsc chunk')) {
      // LoadedArsc::Load takes every RES_TABLE_TYPE chunk and skips the rest.
      if (chunk.type !== ChunkType.TABLE) continue;
      tables += 1;
      this.loadTable(chunk);
    }
    if (tables === 0) throw new Error('no resource table chunk (type 0x0002) found');
  }

  static parse(buf: Buffer): ResourceTable {
    return new ResourceTable(buf);
  }

  get packages(): ResourcePackage[] {
    return [...this.packageById.values()].map(({ id, name }) => ({ id, name }));
  }

  /** Every configuration's value for `resId`, in file order. */
  entries(resId: number): ResourceEntry[] {
    const pkg = this.packageFor(resId);
    const typeChunks = pkg?.types.get((resId >>> 16) & 0xff);
    if (!pkg || !typeChunks) return [];
    const out: ResourceEntry[] = [];
    for (const chunk of typeChunks) {
      const entry = this.readEntry(pkg, chunk, resId & 0xffff);
      if (entry) out.push(entry);
    }
    return out;
  }

  /** The resource's name as `package:type/key`, or null when the table has no such resource. */
  nameOf(resId: number): string | null {
    const pkg = this.packageFor(resId);
    const first = this.entries(resId)[0];
    if (!pkg || !first) return null;
    const typeName = pkg.typeStrings?.get(((resId >>> 16) & 0xff) - 1 - pkg.typeIdOffset) ?? '?';
    return `${pkg.name}:${typeName}/${first.key ?? '?'}`;
  }

  /**
   * The value of `resId` for the locale (or the default config), following references. null when the resource is
   * missing, complex, or the reference chain is longer than `maxDepth`.
   */
  resolve(resId: number, opts: ResolveOptions = {}): TypedValue | null {
    const want = opts.locale ? parseLocale(opts.locale) : undefined;
    let id = resId;
    for (let depth = 0; depth <= (opts.maxDepth ?? DEFAULT_MAX_DEPTH); depth++) {
      const value = pickEntry(this.entries(id), want)?.value ?? null;
      if (value?.kind !== 'reference') return value;
      if (value.id === 0) return null; // @null
      id = value.id;
    }
    return null;
  }

  /**
   * The file paths `resId` names in every configuration, in file order, following references (a config whose value is
   * `@drawable/…` contributes that resource's files). Each path appears once; cycles and chains longer than
   * `maxDepth` end quietly.
   */
  files(resId: number, opts: Pick<ResolveOptions, 'maxDepth'> = {}): ResourceFile[] {
    const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    const out: ResourceFile[] = [];
    const seenPaths = new Set<string>();
    const seenIds = new Set<number>();
    const visit = (id: number, depth: number): void => {
      if (depth > maxDepth || seenIds.has(id)) return;
      seenIds.add(id);
      for (const { config, value } of this.entries(id)) {
        if (value?.kind === 'reference' && value.id !== 0) {
          visit(value.id, depth + 1);
        } else if (value?.kind === 'string' && !seenPaths.has(value.value)) {
          seenPaths.add(value.value);
          out.push({ path: value.value, config });
        }
      }
    };
    visit(resId, 0);
    return out;
  }

  private packageFor(resId: number): PackageData | undefined {
    const pkg = this.packageById.get(resId >>> 24);
    if (pkg) return pkg;
    // A shared library's own references carry package id 0; they mean the library itself.
    return resId >>> 24 === 0 && this.packageById.size === 1 ? [...this.packageById.values()][0] : undefined;
  }

  private loadTable(table: Chunk): void {
    if (table.headerSize < 12) throw new Error(`resource table header size ${table.headerSize} is smaller than 12`);
    for (const chunk of childChunks(this.buf, table.start + table.headerSize, table.end, 'resource table chunk')) {
      if (chunk.type === ChunkType.STRING_POOL) {
        this.globalStrings ??= StringPool.fromChunk(this.buf, chunk);
      } else if (chunk.type === ChunkType.TABLE_PACKAGE) {
        this.loadPackage(chunk);
      }
    }
  }

  private loadPackage(chunk: Chunk): void {
    const { buf } = this;
    const at = chunk.start;
    if (chunk.headerSize < PACKAGE_HEADER_MIN) {
      throw new Error(`resource package at offset ${at}: header size ${chunk.headerSize} is smaller than ${PACKAGE_HEADER_MIN}`);
    }
    const id = buf.readUInt32LE(at + 8);
    const nameEnd = at + 12 + 256;
    let name = buf.toString('utf16le', at + 12, nameEnd);
    const nul = name.indexOf('\0');
    if (nul !== -1) name = name.slice(0, nul);
    const typeStringsAt = at + buf.readUInt32LE(at + 268);
    const keyStringsAt = at + buf.readUInt32LE(at + 276);
    const typeIdOffset = chunk.headerSize >= PACKAGE_HEADER_WITH_TYPE_ID_OFFSET ? buf.readUInt32LE(at + 284) : 0;

    const pkg: PackageData = this.packageById.get(id) ?? { id, name, typeIdOffset, types: new Map() };
    this.packageById.set(id, pkg);
    const unplacedPools: StringPool[] = [];
    for (const child of childChunks(buf, at + chunk.headerSize, chunk.end, `resource package ${name} chunk`)) {
      if (child.type === ChunkType.STRING_POOL) {
        // Pools are told apart by the offsets in the package header (LoadedPackage::Load), else by their order.
        const pool = StringPool.fromChunk(buf, child);
        if (child.start === typeStringsAt) pkg.typeStrings = pool;
        else if (child.start === keyStringsAt) pkg.keyStrings = pool;
        else unplacedPools.push(pool);
      } else if (child.type === ChunkType.TABLE_TYPE) {
        const typeId = buf.readUInt8(child.start + 8);
        if (typeId === 0) throw new Error(`resource package ${name}: TYPE chunk at offset ${child.start} has type id 0`);
        const list = pkg.types.get(typeId) ?? [];
        list.push(readTypeChunk(buf, child));
        pkg.types.set(typeId, list);
      }
      // TYPE_SPEC, LIBRARY, OVERLAYABLE, OVERLAYABLE_POLICY, STAGED_ALIAS and anything newer are not needed to read
      // values, and are skipped.
    }
    pkg.typeStrings ??= unplacedPools.shift();
    pkg.keyStrings ??= unplacedPools.shift();
  }

  private readEntry(pkg: PackageData, chunk: TypeChunk, index: number): ResourceEntry | undefined {
    const offset = entryOffset(this.buf, chunk, index);
    if (offset === undefined) return undefined;
    // A malformed entry makes the lookup fail, as in LoadedPackage::GetEntryFromOffset, rather than the whole table.
    const at = chunk.entriesStart + offset;
    if (offset % 4 !== 0 || at + 8 > chunk.end) return undefined;
    const { buf } = this;
    const flags = buf.readUInt16LE(at + 2);
    if (flags & ENTRY_FLAG_COMPACT) {
      // ResTable_entry::compact: u16 key, u16 flags (data type in the high byte), u32 data.
      return {
        config: chunk.config,
        key: pkg.keyStrings?.get(buf.readUInt16LE(at)) ?? null,
        value: decodeValue(flags >>> 8, buf.readUInt32LE(at + 4), this.globalStrings),
      };
    }
    const size = buf.readUInt16LE(at);
    if (size < 8 || at + size > chunk.end) return undefined;
    const key = pkg.keyStrings?.get(buf.readUInt32LE(at + 4)) ?? null;
    if (flags & ENTRY_FLAG_COMPLEX) return { config: chunk.config, key, value: null };
    const valueAt = at + size;
    if (valueAt + 8 > chunk.end) return undefined;
    return { config: chunk.config, key, value: decodeValue(buf.readUInt8(valueAt + 3), buf.readUInt32LE(valueAt + 4), this.globalStrings) };
  }
}

export function parseResourceTable(buf: Buffer): ResourceTable {
  return ResourceTable.parse(buf);
}

/** Validates a TYPE chunk's layout as VerifyResTableType does, and locates its offsets and entries. */
function readTypeChunk(buf: Buffer, chunk: Chunk): TypeChunk {
  const at = chunk.start;
  const where = `TYPE chunk at offset ${at}`;
  if (chunk.headerSize < TYPE_HEADER_FIXED + 4) throw new Error(`${where}: header size ${chunk.headerSize} is too small`);
  const flags = buf.readUInt8(at + 9);
  const entryCount = buf.readUInt32LE(at + 12);
  const entriesStart = buf.readUInt32LE(at + 16);
  if (entryCount > 0xffff) throw new Error(`${where}: ${entryCount} entries is more than 65535`);
  const offsetSize = flags & TYPE_FLAG_SPARSE ? 4 : flags & TYPE_FLAG_OFFSET16 ? 2 : 4;
  if (entriesStart < chunk.headerSize + entryCount * offsetSize || entriesStart > chunk.size) {
    throw new Error(`${where}: entries start ${entriesStart} leaves no room for ${entryCount} offsets, or is past the chunk`);
  }
  return {
    flags,
    entryCount,
    offsetsStart: at + chunk.headerSize,
    entriesStart: at + entriesStart,
    end: chunk.end,
    config: readConfig(buf, at + TYPE_HEADER_FIXED, at + chunk.headerSize),
  };
}

/** The entry's byte offset from entriesStart, or undefined when this config has no entry (LoadedPackage::GetEntryOffset). */
function entryOffset(buf: Buffer, chunk: TypeChunk, index: number): number | undefined {
  if (chunk.flags & TYPE_FLAG_SPARSE) {
    // Sorted ResTable_sparseTypeEntry {u16 idx, u16 offset / 4}: binary search.
    let lo = 0;
    let hi = chunk.entryCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const idx = buf.readUInt16LE(chunk.offsetsStart + mid * 4);
      if (idx === index) return buf.readUInt16LE(chunk.offsetsStart + mid * 4 + 2) * 4;
      if (idx < index) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }
  if (index >= chunk.entryCount) return undefined;
  if (chunk.flags & TYPE_FLAG_OFFSET16) {
    const off = buf.readUInt16LE(chunk.offsetsStart + index * 2);
    return off === NO_ENTRY16 ? undefined : off * 4;
  }
  const off = buf.readUInt32LE(chunk.offsetsStart + index * 4);
  return off === NO_ENTRY32 ? undefined : off;
}

/** The best entry for the locale: locale match first, then configs without other qualifiers, then file order. */
function pickEntry(entries: readonly ResourceEntry[], want: LocaleRequest | undefined): ResourceEntry | undefined {
  let best: ResourceEntry | undefined;
  let bestScore = -Infinity;
  for (const entry of entries) {
    const score = localeScore(entry.config, want);
    if (score === undefined) continue;
    const total = score * 10 + (entry.config.hasOtherQualifiers ? 0 : 1);
    if (total > bestScore) {
      best = entry;
      bestScore = total;
    }
  }
  // Nothing fits the request (e.g. only values-en exists): any value beats none for display.
  return best ?? entries[0];
}
