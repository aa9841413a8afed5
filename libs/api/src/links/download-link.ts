import { basename } from 'node:path';
import { contentDisposition } from '@subpack/runtime';
import { parseStorageUrl, presignedGet } from '@subpack/storage';
import type { FileLinks, LinkSubject } from './file-links';

export interface DownloadLinkOptions {
  fileLinks: FileLinks;
  /** Where the API serves file:// tokens, e.g. https://subpack.example/api/v1/downloads/; the token is appended. */
  fileLinkBase: string;
}

/**
 * A link to one stored channel APK that works without signing in until it expires: presigned by the store for s3://
 * and oss://, an API-signed token for file:// (served by serveFile). `subject` is what a file token grants.
 */
export async function downloadLink(storedUrl: string, subject: LinkSubject, lifetimeSeconds: number, opts: DownloadLinkOptions): Promise<{ url: string; expiresAt: Date }> {
  const location = parseStorageUrl(storedUrl, 'channel APK');
  if (location.scheme === 'file') {
    const { token, expiresAt } = opts.fileLinks.sign(subject, lifetimeSeconds);
    return { url: `${opts.fileLinkBase}${encodeURIComponent(token)}`, expiresAt };
  }
  const expiresAt = new Date((Math.floor(Date.now() / 1000) + lifetimeSeconds) * 1000);
  const url = await presignedGet(storedUrl, lifetimeSeconds, { contentDisposition: contentDisposition(basename(location.key)) });
  return { url, expiresAt };
}
