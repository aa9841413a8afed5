import { constants, createReadStream, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ApkError, type ByteSource } from '@subpack/apk';
import { StorageConfigError } from './config';
import { MasterUnavailableError, StorageError } from './errors';
import type { ObjectStore } from './object-store';
import { descriptorPath, isWithin, realPathOf } from './real-path';
import type { StorageRoots } from './roots';
import { objectStoreFor } from './stores';
import { parseServableUrl, StorageUrlError, type StorageUrl } from './storage-url';

export { MasterUnavailableError } from './errors';

/**
 * A master APK wherever it is: its size, an identity that changes whenever its bytes do, ranged reads for parsing,
 * and streams of byte ranges for hashing and copying. An object-store master is never downloaded whole to make a
 * channel: its tail and manifest come from range GETs.
 */
export interface MasterSource extends ByteSource {
  readonly url: string;
  readonly location: StorageUrl;
  /** dev:ino:size:mtime for files, the ETag for objects. */
  readonly identity: string;
  /** Bytes [start, end). */
  stream(start: number, end: number): Readable;
}

/**
 * A local master, or any APK file opened for reading (openLocalFile). Every read opens the file afresh and checks that
 * it is the very file that was opened and checked (same device and inode, same size and time), so a link or another
 * file swapped in under its name later is refused instead of read.
 */
export class FileMaster implements MasterSource {
  constructor(
    readonly url: string,
    readonly path: string,
    readonly size: number,
    readonly identity: string,
  ) {}

  get location(): StorageUrl {
    return { scheme: 'file', path: this.path };
  }

  /** The file as opened and checked, or a StorageError when something else is under its name now. */
  async openVerified(): Promise<FileHandle> {
    const handle = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (fileIdentity(await handle.stat()) !== this.identity) throw new StorageError(`master ${this.path} changed since it was opened`, false);
      return handle;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Runs `fn` with a path that reaches exactly the checked file (for copies the kernel makes by name). */
  async withVerifiedPath<T>(fn: (path: string) => Promise<T>): Promise<T> {
    const handle = await this.openVerified();
    try {
      return await fn(descriptorPath(handle));
    } finally {
      await handle.close();
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.path}: read [${offset}, ${offset + length}) outside file of ${this.size} bytes`);
    }
    const handle = await this.openVerified();
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`${this.path}: unexpected end of file at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      await handle.close();
    }
  }

  stream(start: number, end: number): Readable {
    if (end <= start) return Readable.from([]);
    const open = (): Promise<FileHandle> => this.openVerified();
    return Readable.from((async function* () {
      // The stream closes the handle when it ends or is destroyed.
      yield* createReadStream('', { fd: await open(), start, end: end - 1, highWaterMark: 1024 * 1024 });
    })());
  }
}

/** An object read with range GETs, each guarded by the ETag seen when it was opened, so a replaced master fails. */
export class ObjectMaster implements MasterSource {
  constructor(
    readonly url: string,
    readonly store: ObjectStore,
    readonly bucket: string,
    readonly key: string,
    readonly size: number,
    readonly etag: string,
  ) {}

  get path(): string {
    return this.url;
  }

  get identity(): string {
    return this.etag;
  }

  get location(): StorageUrl {
    return { scheme: this.store.settings.scheme, bucket: this.bucket, key: this.key };
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.url}: read [${offset}, ${offset + length}) outside object of ${this.size} bytes`);
    }
    if (length === 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    for await (const chunk of await this.store.getRange(this.bucket, this.key, offset, offset + length, this.etag)) {
      const buf = chunk as Buffer;
      if (filled + buf.length > length) throw new StorageError(`${this.url}: the store returned more than the ${length} bytes asked for`, false);
      buf.copy(out, filled);
      filled += buf.length;
    }
    if (filled !== length) throw new StorageError(`${this.url}: got ${filled} of ${length} bytes at offset ${offset}`, false);
    return out;
  }

  stream(start: number, end: number): Readable {
    const open = (): Promise<Readable> => this.store.getRange(this.bucket, this.key, start, end, this.etag);
    return Readable.from((async function* () {
      if (end > start) yield* await open();
    })());
  }
}

/** The identity of one version of a file, as stat and fstat report it: it changes when the file is replaced or rewritten. */
export function fileIdentity(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * Opens the master at `masterUrl`, checking that it exists and is readable. Bad input is a MasterUnavailableError.
 * With `roots`, a file must really lie inside one of them: the path is resolved through every link before anything is
 * opened, and the opened descriptor is checked again, so a link swapped in between does not help. A master outside
 * gets the same OutsideRootsError whether or not anything exists there.
 */
export async function openMaster(masterUrl: string, opts: { roots?: StorageRoots } = {}): Promise<MasterSource> {
  let parsed: StorageUrl;
  try {
    parsed = parseServableUrl(masterUrl, 'master');
  } catch (err) {
    throw new MasterUnavailableError((err as StorageUrlError).message);
  }
  const root = (await opts.roots?.checkReal(masterUrl, parsed.scheme === 'file' ? parsed.path : null, 'master'))?.root;
  if (parsed.scheme !== 'file') {
    if (!parsed.key) throw new MasterUnavailableError(`master ${masterUrl} names a bucket but no object key`);
    let store: ObjectStore;
    let head;
    try {
      store = objectStoreFor(parsed.scheme, parsed.bucket, parsed.key);
      head = await store.head(parsed.bucket, parsed.key);
    } catch (err) {
      if ((err instanceof StorageError && err.permanent) || err instanceof StorageConfigError) throw new MasterUnavailableError(`master: ${err.message}`);
      throw err;
    }
    if (!head) throw new MasterUnavailableError(`master ${masterUrl} does not exist (bucket ${parsed.bucket}, key ${parsed.key})`);
    return new ObjectMaster(masterUrl, store, parsed.bucket, parsed.key, head.size, head.etag);
  }
  const path = parsed.path;
  return openLocal(path, {
    url: masterUrl,
    async check(handle) {
      if (root && opts.roots && !isWithin(await realPathOf(handle), root)) throw opts.roots.refusal(masterUrl, 'master');
    },
    async cannotOpen(err) {
      // Between the check and the open a link may have been swapped in: ask again before saying anything about it.
      if (opts.roots) await opts.roots.checkReal(masterUrl, path, 'master');
      const code = err.code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return new MasterUnavailableError(`master ${path} does not exist`, { cause: err });
      if (code === 'EACCES') return new MasterUnavailableError(`master ${path} is not readable`, { cause: err });
      return err;
    },
    notAFile: () => new MasterUnavailableError(`master ${path} is not a regular file`),
  });
}

/**
 * Opens the APK file at `path`, as given on a command line, for the parsers: no roots, and the errors say what is
 * wrong with the file itself. A path that cannot be opened fails with the system error (its code kept) behind
 * "<path>: cannot open:"; a directory, device, FIFO or socket is an ApkError NOT_A_FILE.
 */
export function openLocalFile(path: string): Promise<FileMaster> {
  return openLocal(path, {
    url: pathToFileURL(path).href,
    cannotOpen: async (err) => Object.assign(new Error(`${path}: cannot open: ${err.message}`, { cause: err }), errnoFields(err)),
    notAFile: (st) => new ApkError('NOT_A_FILE', `${path}: not a regular file (${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'})`),
  });
}

/** What the system said, so callers that sort failures by code (missing, not permitted) still can. */
function errnoFields(err: NodeJS.ErrnoException): Pick<NodeJS.ErrnoException, 'code' | 'errno' | 'syscall' | 'path'> {
  const { code, errno, syscall, path } = err;
  return { code, errno, syscall, path };
}

interface LocalOpening {
  url: string;
  /** Runs on the open descriptor before anything is read from it. */
  check?: (handle: FileHandle) => Promise<void>;
  /** The error to throw when the path cannot be opened. */
  cannotOpen: (err: NodeJS.ErrnoException) => Promise<Error>;
  /** The error to throw when the path is not a regular file. */
  notAFile: (st: Stats) => Error;
}

/** The one way a local file becomes a source: opened, checked on its descriptor, and known by its identity. */
async function openLocal(path: string, how: LocalOpening): Promise<FileMaster> {
  let handle: FileHandle;
  try {
    // Non-blocking, so a FIFO named as an APK cannot hold the open.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw await how.cannotOpen(err as NodeJS.ErrnoException);
  }
  try {
    await how.check?.(handle);
    const st = await handle.stat();
    if (!st.isFile()) throw how.notAFile(st);
    return new FileMaster(how.url, path, st.size, fileIdentity(st));
  } finally {
    await handle.close();
  }
}
