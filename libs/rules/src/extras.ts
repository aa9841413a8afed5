import { forbiddenCharacter, hasOuterWhitespace, quoted, utf8Length } from './text';

/** Extras are string-to-string, as in Walle's JSON: every reader the clients ship expects that. */
export type Extras = Record<string, string>;

/** Limits on the extras written into one channel APK: the task-level extras merged with the channel's own. */
export const EXTRAS_MAX_KEYS = 32;
export const EXTRA_KEY_MAX_BYTES = 128;
/** UTF-8 bytes of all keys and values of one channel's merged extras. */
export const EXTRAS_MAX_BYTES = 8 * 1024;
/** Walle stores the channel id under this key, next to the extras. */
export const RESERVED_EXTRA_KEYS: readonly string[] = ['channel'];

/** A channel's own extras win over the common ones, key by key. */
export function mergeExtras(common: Extras, own: Extras): Extras {
  return { ...common, ...own };
}

/** Every problem with one set of extras; each message completes "<channel or field> …". */
export function extrasProblems(extras: Extras): string[] {
  const problems: string[] = [];
  const keys = Object.keys(extras);
  if (keys.length > EXTRAS_MAX_KEYS) problems.push(`has ${keys.length} extras, above the limit of ${EXTRAS_MAX_KEYS}`);
  let bytes = 0;
  for (const [key, value] of Object.entries(extras)) {
    const keyProblem = extraKeyProblem(key);
    if (keyProblem) problems.push(`has an extra key ${quoted(key)} that ${keyProblem}`);
    const forbidden = forbiddenCharacter(value);
    if (forbidden) problems.push(`has an extra ${quoted(key)} whose value contains the control or invisible character ${forbidden}`);
    bytes += utf8Length(key) + utf8Length(value);
  }
  if (bytes > EXTRAS_MAX_BYTES) problems.push(`has ${bytes} bytes of extras (UTF-8, keys and values), above the limit of ${EXTRAS_MAX_BYTES}`);
  return problems;
}

function extraKeyProblem(key: string): string | null {
  if (key.length === 0) return 'is empty';
  if (RESERVED_EXTRA_KEYS.includes(key)) return 'is reserved for the channel id';
  const forbidden = forbiddenCharacter(key);
  if (forbidden) return `contains the control or invisible character ${forbidden}`;
  if (hasOuterWhitespace(key)) return 'has leading or trailing whitespace';
  const bytes = utf8Length(key);
  if (bytes > EXTRA_KEY_MAX_BYTES) return `is ${bytes} bytes long (UTF-8), above the limit of ${EXTRA_KEY_MAX_BYTES}`;
  return null;
}
