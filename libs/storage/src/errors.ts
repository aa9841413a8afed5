import { BAD_INPUT, type MaybeBadInput } from '@subpack/rules';

/**
 * A storage failure, already phrased for the user: it names the bucket and key (or path) and the store's reason, never
 * a credential. `permanent` is true when repeating the call cannot help (no such bucket or key, access denied, bad
 * credentials, a master that changed), so callers park the work at once instead of retrying.
 */
export class StorageError extends Error implements MaybeBadInput {
  override readonly name: string = 'StorageError';
  /** The store's error code (NoSuchBucket, AccessDenied...), when a store gave one. */
  readonly code: string | undefined;

  constructor(
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions & { code?: string },
  ) {
    super(message, options);
    this.code = options?.code;
  }

  get [BAD_INPUT](): boolean {
    return this.permanent;
  }
}

/** A master that cannot be used as given: missing, unreadable, changed, or in a store this deployment cannot reach. */
export class MasterUnavailableError extends StorageError {
  override readonly name = 'MasterUnavailableError';

  /** `cause` keeps the file system's own error (ENOENT, EACCES) for callers that report files by path. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, true, options);
  }
}

/** Store error codes that repeating the request cannot fix. */
const PERMANENT_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'InvalidBucketName',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'PreconditionFailed',
  'InvalidArgument',
  'InvalidRequest',
  'EntityTooSmall',
  'EntityTooLarge',
  'AuthorizationHeaderMalformed',
  'InvalidObjectName',
  'KeyTooLongError',
]);

/** What a store client threw, reduced to the fields every provider has. */
export interface StoreFailure {
  code: string;
  status: number | undefined;
  message: string;
}

/**
 * Turns a store client's error into a StorageError about `what` (e.g. "reading s3://bucket/key"). Only the store's
 * code and message are kept: SDK errors carry request objects whose headers and options must not reach a log, and any
 * configured secret that a message happens to echo is masked as well.
 */
export function storageError(what: string, failure: StoreFailure, secrets: readonly string[]): StorageError {
  const permanent = PERMANENT_CODES.has(failure.code) || (failure.status !== undefined && failure.status >= 400 && failure.status < 500 && failure.status !== 408 && failure.status !== 429);
  const detail = failure.message && failure.message !== failure.code ? `: ${failure.message}` : '';
  const status = failure.status !== undefined ? ` (HTTP ${failure.status})` : '';
  return new StorageError(redact(`${what} failed: ${failure.code}${status}${detail}`, secrets), permanent, { code: failure.code });
}

/** Masks every non-trivial secret that occurs in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
