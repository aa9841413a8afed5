import OSS from 'ali-oss';
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { secretsOf, storeIdentity, type StoreSettings } from './config';
import { StorageError, storageError, type StoreFailure } from './errors';
import { normaliseEtag, type AccessVerb, type CompletedPart, type ObjectHead, type ObjectStore, type PartBody, type PartInfo, type UploadInfo } from './object-store';

interface OssError {
  code?: string;
  name?: string;
  status?: number;
  message?: string;
}

function failureOf(err: unknown): StoreFailure {
  const e = err as OssError;
  // Network failures come back with status -1/-2; they are worth retrying.
  const status = typeof e.status === 'number' && e.status > 0 ? e.status : undefined;
  return { code: e.code ?? e.name ?? 'Error', status, message: e.message ?? String(err) };
}

function url(bucket: string, key: string): string {
  return `oss://${bucket}/${key}`;
}

/** The one ali-oss call its typings leave out: a part upload from a stream of known length. */
interface PartUploader {
  _uploadPart(name: string, uploadId: string, partNo: number, data: { stream: Readable; size: number }): Promise<{ etag: string }>;
}

interface ResponseHeaders {
  res: { headers: Record<string, string | undefined> };
}

/**
 * An ali-oss client for one bucket, always with V4 (OSS4-HMAC-SHA256) signatures; shared by the store and by presigned
 * links. Refuses settings without keys or a region, which ali-oss would otherwise only notice at the first request.
 */
export function ossClientFor(settings: StoreSettings, bucket: string): OSS {
  const { credentials, region, endpoint } = settings;
  if (!credentials) {
    throw new StorageError(`oss://${bucket}: no credentials; set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a storage profile`, true);
  }
  if (!region) throw new StorageError(`oss://${bucket}: no region; V4 signatures need OSS_REGION (e.g. cn-hangzhou) or a storage profile`, true);
  return new OSS({
    bucket,
    region: region.startsWith('oss-') ? region : `oss-${region}`,
    ...(endpoint ? { endpoint } : {}),
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.secretAccessKey,
    authorizationV4: true,
    secure: endpoint ? endpoint.startsWith('https:') : true,
  });
}

/** Aliyun OSS through ali-oss, always with V4 (OSS4-HMAC-SHA256) signatures: new buckets refuse V1. */
export class OssStore implements ObjectStore {
  readonly identity: string;
  private readonly clients = new Map<string, OSS>();
  private readonly secrets: string[];
  sentBytes = 0;

  constructor(readonly settings: StoreSettings) {
    this.identity = storeIdentity(settings);
    this.secrets = secretsOf(settings);
  }

  private client(bucket: string): OSS {
    let c = this.clients.get(bucket);
    if (!c) {
      c = ossClientFor(this.settings, bucket);
      this.clients.set(bucket, c);
    }
    return c;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw storageError(what, failureOf(err), this.secrets);
    }
  }

  async head(bucket: string, key: string, verb: AccessVerb = 'reading'): Promise<ObjectHead | null> {
    try {
      const out = await this.client(bucket).head(key);
      const headers = (out.res as unknown as ResponseHeaders['res']).headers;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries((out.meta ?? {}) as Record<string, unknown>)) metadata[k.toLowerCase()] = String(v);
      return { size: Number(headers['content-length'] ?? 0), etag: normaliseEtag(headers.etag), metadata };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const f = failureOf(err);
      if (f.code === 'NoSuchKey') return null;
      throw storageError(`${verb} ${url(bucket, key)}`, f, this.secrets);
    }
  }

  async bucketMissing(bucket: string): Promise<boolean> {
    try {
      await this.client(bucket).getBucketInfo(bucket);
      return false;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const f = failureOf(err);
      if (f.code === 'NoSuchBucket') return true;
      if (f.status === 403) return false;
      throw storageError(`looking up bucket oss://${bucket}`, f, this.secrets);
    }
  }

  async getRange(bucket: string, key: string, start: number, end: number, ifMatch?: string): Promise<Readable> {
    const out = await this.call(`reading bytes ${start}-${end - 1} of ${url(bucket, key)}`, () =>
      this.client(bucket).getStream(key, { headers: { Range: `bytes=${start}-${end - 1}`, ...(ifMatch ? { 'If-Match': `"${ifMatch.toUpperCase()}"` } : {}) } }),
    );
    return out.stream as Readable;
  }

  async createUpload(bucket: string, key: string, metadata: Record<string, string>, contentType: string): Promise<string> {
    const out = await this.call(`starting an upload to ${url(bucket, key)}`, () =>
      this.client(bucket).initMultipartUpload(key, { mime: contentType, meta: metadata as unknown as OSS.UserMeta }),
    );
    return out.uploadId;
  }

  async copyPart(
    bucket: string, key: string, uploadId: string, partNumber: number,
    source: { bucket: string; key: string; start: number; end: number; ifMatch?: string },
  ): Promise<string> {
    const out = await this.call(`copying ${url(source.bucket, source.key)} bytes 0-${source.end - 1} into ${url(bucket, key)}`, () =>
      // ali-oss takes the inclusive range "first-last", as the header does.
      this.client(bucket).uploadPartCopy(key, uploadId, partNumber, `${source.start}-${source.end - 1}`, { sourceKey: source.key, sourceBucketName: source.bucket }, {
        headers: source.ifMatch ? { 'x-oss-copy-source-if-match': `"${source.ifMatch.toUpperCase()}"` } : {},
      }),
    );
    return normaliseEtag(out.etag);
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: PartBody, length: number): Promise<string> {
    const stream = Buffer.isBuffer(body) ? ReadableStream.from([body]) : body;
    const client = this.client(bucket) as unknown as PartUploader;
    const out = await this.call(`uploading part ${partNumber} of ${url(bucket, key)}`, () => client._uploadPart(key, uploadId, partNumber, { stream, size: length }));
    this.sentBytes += length;
    return normaliseEtag(out.etag);
  }

  async complete(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    await this.call(`completing the upload of ${url(bucket, key)}`, () =>
      this.client(bucket).completeMultipartUpload(key, uploadId, parts.map((p) => ({ number: p.partNumber, etag: `"${p.etag.toUpperCase()}"` }))),
    );
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.call(`aborting an upload of ${url(bucket, key)}`, () => this.client(bucket).abortMultipartUpload(key, uploadId));
  }

  async listUploads(bucket: string, key: string): Promise<UploadInfo[]> {
    const found: UploadInfo[] = [];
    const query: OSS.ListUploadsQuery = { prefix: key, 'max-uploads': 1000 };
    for (;;) {
      const out = await this.call(`listing unfinished uploads of ${url(bucket, key)}`, () => this.client(bucket).listUploads(query));
      for (const u of out.uploads) {
        if (u.name === key) found.push({ uploadId: u.uploadId, initiated: new Date(String(u.initiated)) });
      }
      if (!out.isTruncated) return found;
      query['key-marker'] = String(out.nextKeyMarker);
      query['upload-id-marker'] = String(out.nextUploadIdMarker);
    }
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    const found: PartInfo[] = [];
    let marker = 0;
    for (;;) {
      const out = await this.call(`listing the parts of an upload of ${url(bucket, key)}`, () =>
        this.client(bucket).listParts(key, uploadId, { 'max-parts': 1000, 'part-number-marker': marker } as unknown as OSS.ListPartsQuery),
      );
      const parts = (Array.isArray(out.parts) ? out.parts : [out.parts]) as unknown as { PartNumber: string; ETag: string; Size: string }[];
      for (const p of parts) found.push({ partNumber: Number(p.PartNumber), etag: normaliseEtag(p.ETag), size: Number(p.Size) });
      if (String(out.isTruncated) !== 'true') return found;
      marker = Number(out.nextPartNumberMarker);
    }
  }
}
