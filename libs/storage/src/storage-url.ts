import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BadInputError } from '@subpack/rules';
import { ossConfigured } from './config';

/** Storage locations are URLs so one task format covers local disks and object stores. */
export type StorageUrl =
  | { scheme: 'file'; path: string }
  | { scheme: 's3' | 'oss'; bucket: string; key: string };

export type StorageScheme = StorageUrl['scheme'];

export class StorageUrlError extends BadInputError {
  override readonly name = 'StorageUrlError';
}

export function parseStorageUrl(text: string, what: string): StorageUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new StorageUrlError(`${what}: ${JSON.stringify(text)} is not a URL; use file:///abs/path, s3://bucket/key or oss://bucket/key`);
  }
  if (u.protocol === 'file:' || u.protocol === 's3:' || u.protocol === 'oss:') checkPathEncoding(u.pathname, text, what);
  if (u.protocol === 'file:') {
    if (u.host && u.host !== 'localhost') throw new StorageUrlError(`${what}: file URLs must be local (file:///abs/path), not host ${u.host}`);
    return { scheme: 'file', path: fileURLToPath(u) };
  }
  if (u.protocol === 's3:' || u.protocol === 'oss:') {
    if (!u.hostname) throw new StorageUrlError(`${what}: ${text} names no bucket`);
    return { scheme: u.protocol === 's3:' ? 's3' : 'oss', bucket: u.hostname, key: decodeURIComponent(u.pathname.replace(/^\//, '')) };
  }
  throw new StorageUrlError(`${what}: unsupported scheme ${u.protocol} in ${text}; use file://, s3:// or oss://`);
}

/**
 * An encoded slash would be a separator to one reader and part of a name to another (a file path cannot hold it at
 * all), and a broken escape decodes to nothing: both are refused as bad input, never retried.
 */
function checkPathEncoding(pathname: string, text: string, what: string): void {
  if (/%2f/i.test(pathname)) {
    throw new StorageUrlError(`${what}: ${text} contains an encoded slash (%2F) in its path; write "/" to separate directories`);
  }
  try {
    decodeURIComponent(pathname);
  } catch {
    throw new StorageUrlError(`${what}: ${text} has a malformed percent-escape in its path`);
  }
}

/**
 * The schemes this deployment can read masters from and write channel APKs to. The one list to extend. S3 is always
 * served (the SDK's default credential chain may find keys anywhere); OSS only when it is configured.
 */
export function servedSchemes(env: Readonly<Record<string, string | undefined>> = process.env): readonly StorageScheme[] {
  return ossConfigured(env) ? ['file', 's3', 'oss'] : ['file', 's3'];
}

/**
 * Parses a master or target URL and refuses one whose scheme this deployment cannot serve. Retrying cannot change
 * that, so callers treat the StorageUrlError as permanent bad input.
 */
export function parseServableUrl(text: string, what: 'master' | 'target'): StorageUrl {
  const parsed = parseStorageUrl(text, what);
  const served = servedSchemes();
  if (!served.includes(parsed.scheme)) {
    throw new StorageUrlError(
      `${what}: ${parsed.scheme}:// is not served by this deployment (it serves ${served.map((s) => `${s}://`).join(', ')}): ${text}`,
    );
  }
  return parsed;
}

/**
 * A location as a person types it: a URL (file://, s3://, oss://) as it is, anything else a local path, relative to
 * the working directory. A directory's URL ends in "/", as target URLs do.
 */
export function locationUrl(text: string, kind: 'file' | 'directory'): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const href = pathToFileURL(resolve(text)).href;
  return kind === 'directory' && !href.endsWith('/') ? `${href}/` : href;
}
