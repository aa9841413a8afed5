import { ApkError } from '@subpack/apk';
import { PermanentError } from '@subpack/messaging';
import { PackInputError } from '@subpack/pack';
import { OutsideRootsError, StorageConfigError, StorageError, StorageUrlError } from '@subpack/storage';

/** Errors that mean the input is bad: resending the same input cannot succeed. */
export function isBadInput(err: unknown): err is Error {
  // A permanent StorageError covers a missing master, bucket or key, refused credentials, and a changed master.
  const badStorage = (err instanceof StorageError && err.permanent) || err instanceof StorageUrlError || err instanceof StorageConfigError;
  return err instanceof ApkError || err instanceof PackInputError || err instanceof OutsideRootsError || badStorage;
}

/** Bad input is permanent: retrying cannot fix it, so it is parked at once with the reason. */
export function asPermanent(err: unknown): never {
  if (isBadInput(err)) throw new PermanentError(err.message, { cause: err });
  throw err;
}
