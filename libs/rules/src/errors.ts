/**
 * The one mark of "the caller's bad input": resending the same input cannot succeed, so a service parks or refuses it
 * at once with the error's message as the reason, the CLI exits 2 and an HTTP endpoint answers 4xx. A registered
 * symbol, so the mark survives two copies of this package in one process.
 */
export const BAD_INPUT: unique symbol = Symbol.for('@subpack/rules.bad-input');

/** An error that may carry the mark; a class whose errors are only sometimes bad input defines it as a getter. */
export interface MaybeBadInput {
  readonly [BAD_INPUT]?: boolean;
}

/** Base class for errors that are always the caller's bad input. The message says what is wrong and where. */
export class BadInputError extends Error implements MaybeBadInput {
  override readonly name: string = 'BadInputError';
  readonly [BAD_INPUT] = true;
}

/** True for an error marked as bad input; every other error (a bug, an outage, a timeout) is not. */
export function isBadInput(err: unknown): err is Error {
  return err instanceof Error && (err as MaybeBadInput)[BAD_INPUT] === true;
}
