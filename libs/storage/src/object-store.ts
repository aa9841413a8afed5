import type { Readable } from 'node:stream';
import type { StoreSettings } from './config';

export interface ObjectHead {
  size: number;
  /** Normalised: no quotes, lower case. */
  etag: string;
  /** User metadata, keys in lower case. */
  metadata: Record<string, string>;
}

export interface UploadInfo {
  uploadId: string;
  initiated: Date;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** Either bytes in memory or a stream of exactly `length` bytes. */
export type PartBody = Buffer | Readable;

/** What a call was for, as its error says: the master is read, the target written. */
export type AccessVerb = 'reading' | 'writing';

/**
 * The handful of object-store calls composition needs, one adapter per provider SDK. Errors are StorageErrors that
 * name the bucket and key; a missing object on head() is null, not an error.
 */
export interface ObjectStore {
  readonly settings: StoreSettings;
  /** Same value for buckets a part can be copied between. */
  readonly identity: string;
  /** Request body bytes this client has sent, for the benchmark's bytes-per-channel figure. */
  readonly sentBytes: number;
  /** `verb` phrases its error: 'writing' when the object looked up is an output about to be written. */
  head(bucket: string, key: string, verb?: AccessVerb): Promise<ObjectHead | null>;
  /**
   * True only when the store says the bucket does not exist; false when it exists, or when these credentials may not
   * ask (a key allowed to write objects need not be allowed to look at the bucket).
   */
  bucketMissing(bucket: string): Promise<boolean>;
  /** Bytes [start, end) of the object, failing if its ETag is no longer `ifMatch`. */
  getRange(bucket: string, key: string, start: number, end: number, ifMatch?: string): Promise<Readable>;
  createUpload(bucket: string, key: string, metadata: Record<string, string>, contentType: string): Promise<string>;
  /** Part `partNumber` := source[start, end); guarded by the source's ETag when `ifMatch` is given. */
  copyPart(bucket: string, key: string, uploadId: string, partNumber: number, source: { bucket: string; key: string; start: number; end: number; ifMatch?: string }): Promise<string>;
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: PartBody, length: number): Promise<string>;
  complete(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<void>;
  abort(bucket: string, key: string, uploadId: string): Promise<void>;
  /** Unfinished uploads for exactly this key. */
  listUploads(bucket: string, key: string): Promise<UploadInfo[]>;
  listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]>;
}

export function normaliseEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}
