import type { Field } from '@subpack/config';
import { MIN_INTERNAL_KEY_LENGTH } from '@subpack/messaging';

function internalKey(env: string, optional: boolean): Field<string> {
  return {
    env,
    describe: `a secret of at least ${MIN_INTERNAL_KEY_LENGTH} characters, the same in every service`,
    secret: true,
    ...(optional ? { optional: true } : {}),
    parse: (raw) => {
      if (raw.length < MIN_INTERNAL_KEY_LENGTH) throw new Error(`must be at least ${MIN_INTERNAL_KEY_LENGTH} characters`);
      return raw;
    },
  };
}

/**
 * The key every service signs its internal messages with and checks them by (required: without it any holder of a
 * broker login could drive the services), and the one it replaces, still accepted while a rotation rolls out.
 */
export const INTERNAL_KEY_CONFIG = {
  internalKey: internalKey('SUBPACK_INTERNAL_KEY', false),
  internalKeyPrevious: internalKey('SUBPACK_INTERNAL_KEY_PREVIOUS', true) as Field<string | undefined>,
};
