/**
 * Characters no name, id or extra may contain: controls, format characters (zero-width, bidi overrides, the BOM),
 * unpaired surrogates (not encodable as UTF-8) and line/paragraph separators. They are invisible or misleading when a
 * person reads a channel list, a file name or a log line.
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const FORBIDDEN_CHARACTERS = new RegExp(FORBIDDEN_CHARACTER.source, 'gu');

/**
 * The same set as JSON-Schema regex ranges, limited to the Basic Multilingual Plane and without surrogates, so the
 * pattern means the same with or without a Unicode flag in JavaScript, Python and Java engines. The validators apply the
 * full set (astral format characters and unpaired surrogates too); a test keeps this list equal to the BMP,
 * non-surrogate part of FORBIDDEN_CHARACTER.
 */
export const FORBIDDEN_BMP_RANGES: readonly (readonly [number, number])[] = [
  [0x0000, 0x001f],
  [0x007f, 0x009f],
  [0x00ad, 0x00ad],
  [0x0600, 0x0605],
  [0x061c, 0x061c],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x0890, 0x0891],
  [0x08e2, 0x08e2],
  [0x180e, 0x180e],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffb],
];

function hex4(codePoint: number): string {
  return codePoint.toString(16).toUpperCase().padStart(4, '0');
}

/** A regex character class (without brackets) of FORBIDDEN_BMP_RANGES, written with \uXXXX escapes. */
export function forbiddenBmpClass(): string {
  return FORBIDDEN_BMP_RANGES.map(([from, to]) => (from === to ? `\\u${hex4(from)}` : `\\u${hex4(from)}-\\u${hex4(to)}`)).join('');
}

/** "U+200B" for the first forbidden character in `text`, or null when there is none. */
export function forbiddenCharacter(text: string): string | null {
  const match = FORBIDDEN_CHARACTER.exec(text);
  if (!match) return null;
  return `U+${hex4(match[0].codePointAt(0) ?? 0)}`;
}

/** Length in UTF-8 bytes, as file systems, object stores and the APK readers count it (an unpaired surrogate counts 3, as its replacement character would). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0;
    bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * JSON-quoted and shortened for messages, with invisible characters written as \uXXXX escapes: hostile input must not
 * flood, hide in or forge a log line.
 */
export function quoted(text: string, max = 60): string {
  const chars = [...text];
  const shown = JSON.stringify(chars.length > max ? `${chars.slice(0, max).join('')}…` : text);
  return shown.replace(FORBIDDEN_CHARACTERS, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Leading or trailing white space, as String.prototype.trim sees it. */
export function hasOuterWhitespace(text: string): boolean {
  return text.trim() !== text;
}
