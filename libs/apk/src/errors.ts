import { BadInputError } from '@subpack/rules';
/** Machine-readable reasons, so services can tell bad input (park at once) from transient trouble. */
export type ApkErrorCode =
  | 'NOT_A_ZIP'
  | 'TRUNCATED'
  | 'ZIP64_UNSUPPORTED'
  | 'MULTI_DISK'
  | 'CD_OUT_OF_BOUNDS'
  | 'BAD_CENTRAL_DIRECTORY'
  | 'BAD_SIGNING_BLOCK'
  | 'NO_SIGNING_BLOCK'
  | 'NOT_SIGNED'
  | 'FORMAT_NOT_APPLICABLE'
  | 'COMMENT_TOO_LONG'
  | 'BAD_CHANNEL'
  | 'BAD_MANIFEST'
  | 'ENTRY_EXISTS'
  | 'TOO_LARGE'
  | 'NOT_A_FILE';

/** An APK that cannot be channel-packed as asked. The message names the file and the problem. */
export class ApkError extends BadInputError {
  override readonly name = 'ApkError';
  constructor(
    readonly code: ApkErrorCode,
    message: string,
  ) {
    super(message);
  }
}
