import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { secretsOf, storeIdentity, type StoreSettings } from './config';
import { storageError, type StoreFailure } from './errors';
import { normaliseEtag, type AccessVerb, type CompletedPart, type ObjectHead, type ObjectStore, type PartBody, type PartInfo, type UploadInfo } from './object-store';

function failureOf(err: unknown): StoreFailure {
  if (err instanceof S3ServiceException) {
    return { code: err.name, status: err.$metadata.httpStatusCode, message: err.message === 'UnknownError' ? '' : err.message };
  }
  const e = err as NodeJS.ErrnoException;
  return { code: e.code ?? e.name ?? 'Error', status: undefined, message: e.message ?? String(err) };
}

function url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * The one way this project configures an S3 client from a bucket's settings, shared by the store, by presigned links
 * and by the API's resumable uploads, so every request is signed for the endpoint, region and addressing style the
 * objects are written with.
 */
export function s3ClientConfig(settings: StoreSettings): S3ClientConfig {
  // The SDK warns on every start that its 2027 releases will need Node 22; this project supports Node 20 with the
  // SDK version its lockfile pins, so the notice would only clutter the CLI's stderr and the services' logs.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    region: settings.region ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Third-party stores reject the aws-chunked trailing checksums the SDK sends by default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export function s3ClientFor(settings: StoreSettings): S3Client {
  return new S3Client(s3ClientConfig(settings));
}

/** S3 and S3-compatible stores (KS3, MinIO, COS, R2) through @aws-sdk/client-s3. */
export class S3Store implements ObjectStore {
  readonly identity: string;
  private readonly client: S3Client;
  private readonly secrets: string[];
  sentBytes = 0;

  constructor(readonly settings: StoreSettings) {
    this.identity = storeIdentity(settings);
    this.secrets = secretsOf(settings);
    this.client = s3ClientFor(settings);
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw storageError(what, failureOf(err), this.secrets);
    }
  }

  async head(bucket: string, key: string, verb: AccessVerb = 'reading'): Promise<ObjectHead | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: out.ContentLength ?? 0, etag: normaliseEtag(out.ETag), metadata: out.Metadata ?? {} };
    } catch (err) {
      const f = failureOf(err);
      if (f.status !== 404) throw storageError(`${verb} ${url(bucket, key)}`, f, this.secrets);
    }
    // HEAD answers 404 without a body for a missing bucket too; ask the bucket so the error says which is missing.
    if (await this.bucketMissing(bucket)) {
      throw storageError(`${verb} ${url(bucket, key)}`, { code: 'NoSuchBucket', status: 404, message: `bucket ${bucket} does not exist` }, this.secrets);
    }
    return null;
  }

  async bucketMissing(bucket: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return false;
    } catch (err) {
      const f = failureOf(err);
      if (f.status === 404) return true;
      if (f.status === 403) return false;
      throw storageError(`looking up bucket s3://${bucket}`, f, this.secrets);
    }
  }

  async getRange(bucket: string, key: string, start: number, end: number, ifMatch?: string): Promise<Readable> {
    const out = await this.call(`reading bytes ${start}-${end - 1} of ${url(bucket, key)}`, () =>
      this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}) })),
    );
    return out.Body as Readable;
  }

  async createUpload(bucket: string, key: string, metadata: Record<string, string>, contentType: string): Promise<string> {
    const out = await this.call(`starting an upload to ${url(bucket, key)}`, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, Metadata: metadata })),
    );
    if (!out.UploadId) throw storageError(`starting an upload to ${url(bucket, key)}`, { code: 'NoUploadId', status: undefined, message: 'the store returned no upload id' }, []);
    return out.UploadId;
  }

  async copyPart(
    bucket: string, key: string, uploadId: string, partNumber: number,
    source: { bucket: string; key: string; start: number; end: number; ifMatch?: string },
  ): Promise<string> {
    const out = await this.call(`copying ${url(source.bucket, source.key)} bytes 0-${source.end - 1} into ${url(bucket, key)}`, () =>
      this.client.send(new UploadPartCopyCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        CopySource: `${source.bucket}/${encodeURIComponent(source.key)}`,
        CopySourceRange: `bytes=${source.start}-${source.end - 1}`,
        ...(source.ifMatch ? { CopySourceIfMatch: `"${source.ifMatch}"` } : {}),
      })),
    );
    return normaliseEtag(out.CopyPartResult?.ETag);
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: PartBody, length: number): Promise<string> {
    const out = await this.call(`uploading part ${partNumber} of ${url(bucket, key)}`, () =>
      this.client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: length })),
    );
    this.sentBytes += length;
    return normaliseEtag(out.ETag);
  }

  async complete(bucket: string, key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    await this.call(`completing the upload of ${url(bucket, key)}`, () =>
      this.client.send(new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
      })),
    );
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.call(`aborting an upload of ${url(bucket, key)}`, () =>
      this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
    );
  }

  async listUploads(bucket: string, key: string): Promise<UploadInfo[]> {
    const found: UploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const out = await this.call(`listing unfinished uploads of ${url(bucket, key)}`, () =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const u of out.Uploads ?? []) {
        if (u.Key === key && u.UploadId) found.push({ uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) });
      }
      if (!out.IsTruncated) return found;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    const found: PartInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await this.call(`listing the parts of an upload of ${url(bucket, key)}`, () =>
        this.client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker })),
      );
      for (const p of out.Parts ?? []) found.push({ partNumber: p.PartNumber ?? 0, etag: normaliseEtag(p.ETag), size: p.Size ?? 0 });
      if (!out.IsTruncated) return found;
      marker = out.NextPartNumberMarker;
    }
  }
}
