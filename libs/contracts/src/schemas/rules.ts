import { Type, type SchemaOptions, type TUnsafe } from '@sinclair/typebox';
import { forbiddenBmpClass } from '@subpack/rules';

/**
 * Annotation keyword carrying the human-readable message for the rule it sits on. A JSON Schema `pattern` or `not`
 * says nothing a person can act on, so each such rule lives in its own `allOf` member with its own message.
 * The `x-` prefix keeps the emitted files valid AsyncAPI schema objects; other validators simply ignore it.
 */
export const ERROR_MESSAGE_KEYWORD = 'x-error-message';

export interface MessageRule {
  readonly [keyword: string]: unknown;
}

/** One constraint plus the message a validator should print when it fails. */
export function rule(constraint: Record<string, unknown>, message: string): MessageRule {
  return { ...constraint, [ERROR_MESSAGE_KEYWORD]: message };
}

/** A plain `enum` of strings (TypeBox's Union of Literals would report one error per alternative). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

// JSON-Schema regexes use \uXXXX escapes (not literal characters) so the emitted files stay printable and the
// patterns work unchanged in JavaScript, Python and Java regex engines.
export const noControlCharacters = rule(
  { pattern: `^[^${forbiddenBmpClass()}]*$` },
  'must not contain control or invisible characters',
);

/** Leading or trailing white space is invisible in lists and file names. */
export const noOuterWhitespace = rule({ not: { pattern: '^\\s|\\s$' } }, 'must not have leading or trailing whitespace');

/**
 * Rules for anything that becomes one path segment of an output object (channel ids): it must not be able to climb out
 * of, or nest inside, the target directory.
 */
export const pathSegmentRules: readonly MessageRule[] = [
  noControlCharacters,
  rule({ pattern: '^[^/\\\\]*$' }, 'must not contain "/" or "\\"'),
  rule({ not: { enum: ['.', '..'] } }, 'must not be "." or ".."'),
];

/**
 * Rules for a relative path inside the target ("/" separates subdirectories): no backslash, no leading "/", no empty,
 * "." or ".." segment.
 */
export const relativePathRules: readonly MessageRule[] = [
  noControlCharacters,
  rule({ pattern: '^[^\\\\]*$' }, 'must not contain "\\"; use "/" for subdirectories'),
  rule({ not: { pattern: '^/' } }, 'must be a relative path (no leading "/")'),
  rule({ not: { pattern: '//|/$' } }, 'must not have an empty path segment ("//" or a trailing "/")'),
  rule({ not: { pattern: '(^|/)\\.{1,2}(/|$)' } }, 'must not have a "." or ".." path segment'),
];
