import { BadInputError } from '@subpack/rules';

/** Bad input to a pack job (channel list, names, options): the message says which line, channel or field. */
export class PackInputError extends BadInputError {
  override readonly name = 'PackInputError';
}
