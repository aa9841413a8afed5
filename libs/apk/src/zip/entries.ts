import { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import { ApkError } from '../errors';
import type { ByteSource } from './byte-source';
import { ZIP_METHOD } from './records';

export interface ReadEntryOptions {
  /** Largest uncompressed size accepted. A bigger entry is an error, never a silently truncated read. */
  maxBytes: number;
}

export interface ReadEntriesOptions extends ReadEntryOptions {
  /** Per-name caps that override `maxBytes`, e.g. a small cap for the manifest and a big one for resources.arsc. */
  maxBytesByName?: Readonly<Record<string, number>>;
}

/** Central-directory records are read through a window this big, instead of two tiny reads per record. */
const READ_WINDOW_BYTES = 256 * 1024;
const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads one entry through the central directory, streaming; resolves to null when the APK has no such entry.
 * The APK is never loaded into memory: only the central directory and the entry's own bytes are read.
 */
export async function readEntry(src: ByteSource, name: string, opts: ReadEntryOptions): Promise<Buffer | null> {
  const found = await readEntries(src, [name], opts);
  return found.get(name) ?? null;
}

/**
 * Reads several entries in one pass over the central directory. The map holds only the entries that exist.
 * Duplicate central-directory records for a requested name are an error, as they are for Android's libziparchive.
 */
export async function readEntries(
  src: ByteSource,
  names: readonly string[],
  opts: ReadEntriesOptions,
): Promise<Map<string, Buffer>> {
  const apkPath = src.path;
  // Names are matched on their raw bytes, as libziparchive does, so no decoding quirk can hide or alias an entry.
  const wanted = new Map(names.map((name) => [Buffer.from(name, 'utf8').toString('latin1'), name]));
  const found = new Map<string, Buffer>();
  const zip = await openZip(src);
  try {
    let entries: AsyncIterable<yauzl.Entry>;
    try {
      entries = zip.eachEntry();
    } catch (err) {
      throw zipError(err, `${apkPath}: cannot list entries`);
    }
    const iterator = entries[Symbol.asyncIterator]();
    while (true) {
      let step: IteratorResult<yauzl.Entry>;
      try {
        step = await iterator.next();
      } catch (err) {
        throw zipError(err, `${apkPath}: corrupt central directory`);
      }
      if (step.done) break;
      const entry = step.value;
      const name = wanted.get(entry.fileNameRaw.toString('latin1'));
      if (name === undefined) continue;
      if (found.has(name)) {
        throw new ApkError('BAD_CENTRAL_DIRECTORY', `${apkPath}: entry ${name} appears more than once in the central directory`);
      }
      const maxBytes = opts.maxBytesByName?.[name] ?? opts.maxBytes;
      found.set(name, await readOne(zip, entry, maxBytes, `${apkPath}: entry ${name}`));
    }
    return found;
  } finally {
    zip.close();
  }
}

/** The source stays open for its owner: closing the zip closes nothing. */
async function openZip(src: ByteSource): Promise<yauzl.ZipFile> {
  const apkPath = src.path;
  try {
    return await yauzl.fromRandomAccessReaderPromise(new WindowedSourceReader(src), src.size, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      strictFileNames: false,
      // Raw names: yauzl's name validation would reject entries (e.g. "../x") that Android merely ignores.
      decodeStrings: false,
    });
  } catch (err) {
    const message = messageOf(err);
    const code = yauzlOpenErrorCode(message);
    if (code === 'NOT_A_ZIP') throw withCause(new ApkError(code, `${apkPath}: not a ZIP file, or truncated (${message})`), err);
    if (code === 'MULTI_DISK') throw withCause(new ApkError(code, `${apkPath}: ${message}`), err);
    throw zipError(err, `${apkPath}: not a readable ZIP file`);
  }
}

/**
 * What yauzl's refusal to open an archive means. yauzl (3.x) gives its errors no code or type, so its message text is
 * the only signal; this is the one place that reads it, and entries.test.ts makes yauzl refuse real files of each kind
 * so that a change of wording in a new yauzl fails there rather than turning bad APKs into unexplained errors.
 */
export function yauzlOpenErrorCode(message: string): 'NOT_A_ZIP' | 'MULTI_DISK' | undefined {
  if (/end of central directory record signature not found/i.test(message)) return 'NOT_A_ZIP';
  if (/multi-disk/i.test(message)) return 'MULTI_DISK';
  return undefined;
}

/** System (I/O) failures stay plain errors, as they may be transient; everything else is a bad archive. */
function zipError(err: unknown, context: string): Error {
  const message = `${context}: ${messageOf(err)}`;
  if (typeof (err as NodeJS.ErrnoException).syscall === 'string') return new Error(message, { cause: err });
  return withCause(new ApkError('BAD_CENTRAL_DIRECTORY', message), err);
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  error.cause = cause;
  return error;
}

/**
 * yauzl's file reader issues two small reads per central-directory record (7,600 records take half a second, and
 * thousands of range GETs on an object store); this one serves them from a window read in one go. Entry data still
 * streams from the source in chunks.
 */
class WindowedSourceReader extends yauzl.RandomAccessReader {
  private window: { start: number; data: Buffer } = { start: 0, data: Buffer.alloc(0) };

  constructor(private readonly src: ByteSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const src = this.src;
    let position = start;
    return new Readable({
      highWaterMark: STREAM_CHUNK_BYTES,
      read(size): void {
        const n = Math.min(size, end - position, STREAM_CHUNK_BYTES);
        if (n <= 0) {
          this.push(null);
          return;
        }
        src.read(position, n).then(
          (chunk) => {
            position += chunk.length;
            this.push(chunk);
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
  }

  override read(
    buffer: Buffer, offset: number, length: number, position: number,
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    const { start, data } = this.window;
    if (position >= start && position + length <= start + data.length) {
      data.copy(buffer, offset, position - start, position - start + length);
      setImmediate(() => callback(null, length));
      return;
    }
    const want = Math.min(Math.max(length, READ_WINDOW_BYTES), this.src.size - position);
    this.src.read(position, want).then(
      (fresh) => {
        this.window = { start: position, data: fresh };
        const n = Math.min(length, fresh.length);
        fresh.copy(buffer, offset, 0, n);
        callback(null, n);
      },
      (err: Error) => callback(err),
    );
  }
}

async function readOne(zip: yauzl.ZipFile, entry: yauzl.Entry, maxBytes: number, label: string): Promise<Buffer> {
  if (entry.uncompressedSize > maxBytes) {
    throw new ApkError('TOO_LARGE', `${label}: ${entry.uncompressedSize} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  try {
    const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
    // As Android's ZipAssetsProvider reads the manifest: deflated is inflated, and any other method field, even an
    // unknown one, means the uncompressedSize bytes are stored as-is. The encryption bit is ignored, as Android does.
    const inflate = entry.compressionMethod === ZIP_METHOD.deflated;
    const length = inflate ? entry.compressedSize : entry.uncompressedSize;
    // Not openReadStreamLowLevelPromise: in yauzl 3.4 it calls openReadStream with the wrong arguments.
    const stream = await new Promise<Readable>((resolve, reject) => {
      zip.openReadStreamLowLevel(
        fileDataStart, length, 0, length, inflate, entry.uncompressedSize,
        (err, s) => (err ? reject(err) : resolve(s)),
      );
    });
    const data = await collect(stream, Math.min(maxBytes, entry.uncompressedSize));
    if (data.length !== entry.uncompressedSize) {
      throw new Error(`size mismatch: central directory says ${entry.uncompressedSize} bytes, data has ${data.length}`);
    }
    return data;
  } catch (err) {
    throw zipError(err, `${label}: corrupt`);
  }
}

/**
 * Reads a stream into one buffer of the size the central directory announced, filled in place: collecting chunks and
 * concatenating would briefly hold a 30 MB resources.arsc twice.
 */
function collect(stream: Readable, expectedBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out = Buffer.allocUnsafe(expectedBytes);
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      if (total + chunk.length > expectedBytes) {
        stream.destroy(new Error(`more than the ${expectedBytes} bytes the central directory announces`));
        return;
      }
      chunk.copy(out, total);
      total += chunk.length;
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(total === expectedBytes ? out : out.subarray(0, total)));
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
