import { FileTarget } from './file-target';
import { ObjectTarget } from './object-target';
import { objectStoreFor } from './stores';
import { parseServableUrl, parseStorageUrl } from './storage-url';
import type { ChannelTarget, TargetOptions } from './target';

/**
 * The target for `targetUrl`: file:///dir/, s3://bucket/prefix/ or oss://bucket/prefix/. Throws StorageUrlError (bad
 * input, permanent) for a URL this deployment cannot serve.
 */
export function openTarget(targetUrl: string, opts: TargetOptions = {}): ChannelTarget {
  const parsed = parseServableUrl(targetUrl, 'target');
  if (parsed.scheme === 'file') return new FileTarget(targetUrl, parsed.path, opts.roots);
  const prefix = parsed.key === '' || parsed.key.endsWith('/') ? parsed.key : `${parsed.key}/`;
  return new ObjectTarget(targetUrl, objectStoreFor(parsed.scheme, parsed.bucket, prefix), parsed.bucket, prefix, opts);
}

/** The directory that naming templates must stay inside, for the same check the CLI applies to --out. */
export function targetRoot(targetUrl: string): string {
  const parsed = parseStorageUrl(targetUrl, 'target');
  return parsed.scheme === 'file' ? parsed.path : `/${parsed.bucket}/${parsed.key}`;
}
