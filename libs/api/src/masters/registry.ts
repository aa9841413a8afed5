import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { Redis } from 'ioredis';
import { ApkError, readEntry } from '@subpack/apk';
import { isBadInput } from '@subpack/rules';
import { MasterUnavailableError, openMaster, OutsideRootsError, parseStorageUrl, type StorageRoots } from '@subpack/storage';
import { MasterError } from './errors';
import { inspectMaster } from './inspect';
import { ICON_MAX_BYTES, type MasterPage, type MasterRecord } from './schemas';

/** A finished upload, as the upload store hands it over. */
export interface FinishedUpload {
  id: string;
  /** file:// or s3:// URL of the stored bytes. */
  url: string;
  size: number;
  filename?: string;
}

/** Removes the bytes of an uploaded master (the registry never deletes a file it did not receive). */
export interface UploadedFiles {
  remove(uploadId: string): Promise<void>;
}

export interface MasterRegistryOptions {
  redis: Redis;
  keyPrefix: string;
  /** SUBPACK_MASTER_ROOTS: registered URLs must lie inside, and every master is opened through them. */
  roots: StorageRoots;
  uploads?: UploadedFiles;
  now?: () => Date;
}

const ID = /^[0-9a-f]{32}$/;
const MAX_PAGE = 200;

/**
 * The masters publishers can pack from, kept in Redis: a JSON record per master and one sorted set that lists them
 * newest first. Ordering is by the member text "<createdAt ms, zero-padded>:<id>", so a cursor is simply the last
 * member seen and pages stay stable while masters are added or deleted.
 */
export class MasterRegistry {
  constructor(private readonly opts: MasterRegistryOptions) {}

  /** An APK already in storage (file://, s3://, oss:// inside the master roots), left where it is. */
  async register(url: string, by: string): Promise<MasterRecord> {
    try {
      parseStorageUrl(url, 'master');
      this.opts.roots.check(url, 'master');
    } catch (err) {
      throw asMasterError(err);
    }
    const existing = await this.opts.redis.get(this.urlKey(url));
    if (existing) throw new MasterError('ALREADY_EXISTS', `${url} is already registered as master ${existing}`);
    return this.save(randomBytes(16).toString('hex'), url, 'registered', by, undefined, url);
  }

  /** A finished upload; refused (and left for the caller to delete) when it is not a usable APK. */
  async fromUpload(upload: FinishedUpload, by: string): Promise<MasterRecord> {
    if (!ID.test(upload.id)) throw new Error(`upload id ${JSON.stringify(upload.id)} is not one this API generates`);
    return this.save(upload.id, upload.url, 'upload', by, upload.filename, upload.filename ?? 'the uploaded file');
  }

  async get(id: string): Promise<MasterRecord> {
    const raw = ID.test(id) ? await this.opts.redis.get(this.recordKey(id)) : null;
    if (!raw) throw new MasterError('NOT_FOUND', 'no such master');
    return JSON.parse(raw) as MasterRecord;
  }

  /** The master's launcher icon, read out of the APK through its source; NOT_FOUND when it has none. */
  async icon(id: string): Promise<{ contentType: 'image/png' | 'image/webp'; bytes: Buffer }> {
    const record = await this.get(id);
    if (!record.icon) throw new MasterError('NOT_FOUND', `master ${id} has no launcher icon`);
    const gone = (): MasterError => new MasterError('NOT_FOUND', `master ${id}: its launcher icon can no longer be read`);
    const source = await openMaster(record.url, { roots: this.opts.roots }).catch((err: unknown) => {
      throw err instanceof MasterUnavailableError ? gone() : asMasterError(err);
    });
    let bytes: Buffer | null;
    try {
      bytes = await readEntry(source, record.icon.entry, { maxBytes: ICON_MAX_BYTES });
    } catch (err) {
      // The file changed under a registered master: no longer the APK that was inspected.
      if (err instanceof ApkError) throw gone();
      throw err;
    }
    if (!bytes) throw gone();
    return { contentType: /\.webp$/i.test(record.icon.entry) ? 'image/webp' : 'image/png', bytes };
  }

  async list(opts: { cursor?: string; limit?: number } = {}): Promise<MasterPage> {
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 50)), MAX_PAGE);
    const start = opts.cursor === undefined ? '+' : `(${decodeCursor(opts.cursor)}`;
    const members = await this.opts.redis.zrevrangebylex(this.indexKey(), start, '-', 'LIMIT', 0, limit + 1);
    const page = members.slice(0, limit);
    const raws = page.length ? await this.opts.redis.mget(page.map((m) => this.recordKey(m.slice(m.indexOf(':') + 1)))) : [];
    const items = raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as MasterRecord);
    const last = page[page.length - 1];
    return members.length > limit && last ? { items, nextCursor: Buffer.from(last).toString('base64url') } : { items };
  }

  /**
   * Refused while a running task uses the master. An uploaded master's bytes go with its record; a registered one's
   * file or object stays, since the API never owned it.
   */
  async delete(id: string, isInUse: (url: string) => Promise<boolean>): Promise<MasterRecord> {
    const record = await this.get(id);
    if (await isInUse(record.url)) {
      throw new MasterError('CONFLICT', `master ${id} is used by a running task; delete it once the task has finished`);
    }
    await this.opts.redis.multi().del(this.recordKey(id)).del(this.urlKey(record.url)).zrem(this.indexKey(), member(record)).exec();
    if (record.origin === 'upload') await this.opts.uploads?.remove(id);
    return record;
  }

  private async save(id: string, url: string, origin: MasterRecord['origin'], by: string, filename: string | undefined, shownAs: string): Promise<MasterRecord> {
    const source = await openMaster(url, { roots: this.opts.roots }).catch((err: unknown) => {
      throw asMasterError(err, url, shownAs);
    });
    const record: MasterRecord = {
      id,
      url,
      origin,
      uploadedBy: by,
      createdAt: (this.opts.now?.() ?? new Date()).toISOString(),
      ...(filename !== undefined ? { filename } : {}),
      ...(await inspectMaster(source, shownAs)),
    };
    const added = await this.opts.redis
      .multi()
      .set(this.urlKey(url), id, 'NX')
      .set(this.recordKey(id), JSON.stringify(record))
      .zadd(this.indexKey(), 0, member(record))
      .exec();
    if (added?.[0]?.[1] !== 'OK') {
      // Two registrations of one URL raced; the first one's record stands.
      await this.opts.redis.multi().del(this.recordKey(id)).zrem(this.indexKey(), member(record)).exec();
      throw new MasterError('ALREADY_EXISTS', `${url} is already registered`);
    }
    return record;
  }

  private recordKey(id: string): string {
    return `${this.opts.keyPrefix}master:${id}`;
  }

  private urlKey(url: string): string {
    return `${this.opts.keyPrefix}master-url:${url}`;
  }

  private indexKey(): string {
    return `${this.opts.keyPrefix}masters`;
  }
}

function member(record: MasterRecord): string {
  return `${String(Date.parse(record.createdAt)).padStart(15, '0')}:${record.id}`;
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{15}:[0-9a-f]{32}$/.test(text)) throw new MasterError('INVALID_INPUT', 'cursor is not one this API returned');
  return text;
}

/** Storage refusals in the API's vocabulary; paths in messages are replaced by what the client knows the file as. */
function asMasterError(err: unknown, url?: string, shownAs?: string): unknown {
  if (err instanceof OutsideRootsError) return new MasterError('OUTSIDE_ROOTS', err.message);
  if (err instanceof MasterUnavailableError && url !== undefined && shownAs !== undefined && shownAs !== url) {
    const path = url.startsWith('file:') ? parseStorageUrl(url, 'master') : null;
    const hidden = path?.scheme === 'file' ? err.message.split(path.path).join(shownAs) : err.message.split(url).join(shownAs);
    return new MasterError('NOT_FOUND', hidden.split(basename(url)).join(shownAs));
  }
  if (err instanceof MasterUnavailableError) return new MasterError('NOT_FOUND', err.message);
  if (isBadInput(err) && !(err instanceof MasterError)) return new MasterError('INVALID_INPUT', err.message);
  return err;
}
