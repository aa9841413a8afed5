import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { storeSettings, StorageConfigError, type StoreSettings } from './config';
import { ossClientFor } from './oss-store';
import { s3ClientFor } from './s3-store';
import { parseStorageUrl, StorageUrlError } from './storage-url';

/** SigV4 and OSS V4 query signatures both stop being accepted past seven days, whatever a link asks for. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface PresignOptions {
  /** A Content-Disposition the store answers the download with, so the browser saves it under a readable name. */
  contentDisposition?: string;
  /** The bucket's settings; by default those storeSettings gives for the URL (profiles, then environment). */
  settings?: StoreSettings;
}

/**
 * A plain HTTPS GET link to one stored object (s3:// or oss://) that works without credentials until it expires.
 * Signed locally with the same client settings the store writes with: nothing is sent to the store.
 */
export async function presignedGet(url: string, lifetimeSeconds: number, opts: PresignOptions = {}): Promise<string> {
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > MAX_PRESIGN_SECONDS) {
    throw new StorageConfigError(`a link lifetime must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days), not ${lifetimeSeconds}`);
  }
  const location = parseStorageUrl(url, 'link');
  if (location.scheme === 'file') throw new StorageUrlError(`link: ${url} is a local file; it has no store to sign a link for`);
  if (!location.key) throw new StorageUrlError(`link: ${url} names a bucket but no object key`);
  const settings = opts.settings ?? storeSettings(location.scheme, location.bucket, location.key);
  if (location.scheme === 's3') {
    const command = new GetObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(opts.contentDisposition ? { ResponseContentDisposition: opts.contentDisposition } : {}),
    });
    return getSignedUrl(s3ClientFor(settings), command, { expiresIn: lifetimeSeconds });
  }
  const queries = opts.contentDisposition ? { 'response-content-disposition': opts.contentDisposition } : {};
  return ossClientFor(settings, location.bucket).signatureUrlV4('GET', lifetimeSeconds, { headers: {}, queries }, location.key);
}
