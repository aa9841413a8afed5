import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { withFileSource, type ByteSource } from '@subpack/apk';
import { StorageConfigError } from './config';
import { MasterUnavailableError, StorageError } from './errors';
import type { ObjectStore } from './object-store';
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

  read(offset: number, length: number): Promise<Buffer> {
    return withFileSource(this.path, (src) => src.read(offset, length));
  }

  stream(start: number, end: number): Readable {
    if (end <= start) return Readable.from([]);
    return createReadStream(this.path, { start, end: end - 1, highWaterMark: 1024 * 1024 });
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

/** Opens the master at `masterUrl`, checking that it exists and is readable. Bad input is a MasterUnavailableError. */
export async function openMaster(masterUrl: string): Promise<MasterSource> {
  let parsed: StorageUrl;
  try {
    parsed = parseServableUrl(masterUrl, 'master');
  } catch (err) {
    throw new MasterUnavailableError((err as StorageUrlError).message);
  }
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
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new MasterUnavailableError(`master ${path} is not a regular file`);
    await access(path, constants.R_OK);
    return new FileMaster(masterUrl, path, st.size, fileIdentity(st));
  } catch (err) {
    if (err instanceof MasterUnavailableError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MasterUnavailableError(`master ${path} does not exist`);
    if (code === 'EACCES') throw new MasterUnavailableError(`master ${path} is not readable`);
    throw err;
  }
}
