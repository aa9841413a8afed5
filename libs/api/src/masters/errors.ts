import type { ApkError } from '@subpack/apk';
import { BadInputError, type ProblemCode } from '@subpack/rules';

/**
 * Why a master was refused or cannot be acted on. `code` is a shared problem code (NOT_FOUND, CONFLICT...) or the
 * APK reader's own (NOT_A_ZIP, TRUNCATED, NOT_SIGNED...), which the API passes through as the problem's code.
 */
export type MasterErrorCode = ProblemCode | ApkError['code'];

export class MasterError extends BadInputError {
  override readonly name = 'MasterError';

  constructor(
    readonly code: MasterErrorCode,
    message: string,
  ) {
    super(message);
  }
}
