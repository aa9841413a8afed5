/**
 * `attachment` with the file name twice (RFC 6266 §4.3): a plain ASCII `filename` for old clients, and `filename*`
 * in RFC 8187 UTF-8 percent-encoding whenever the name has characters a quoted string cannot carry.
 */
export function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (fallback === fileName) return `attachment; filename="${fileName}"`;
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(fileName)}`;
}

/** attr-char of RFC 8187: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is percent-encoded UTF-8. */
function encodeRfc8187(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}
