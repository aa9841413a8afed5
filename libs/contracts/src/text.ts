/**
 * Control characters, format characters (bidi overrides such as U+202E, zero-width marks) and line/paragraph
 * separators: invisible or misleading when a reason or log line is shown to a person.
 */
const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Text from outside (file names, field names, error messages echoing input) made safe to show: every unsafe
 * character becomes a visible <U+202E>. Applied to every failure reason and log line. The form has no backslash, so
 * it can be applied to finished JSON text too and the result is still valid JSON.
 */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_CHARS, (c) => `<U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`);
}
