import { PermanentError } from '@subpack/messaging';
import { isBadInput } from '@subpack/rules';

/** Bad input is permanent: retrying cannot fix it, so it is parked at once with the reason. */
export function asPermanent(err: unknown): never {
  if (isBadInput(err)) throw new PermanentError(err.message, { cause: err });
  throw err;
}
