export type JsonBodyResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a message body as UTF-8 JSON (a leading BOM is tolerated). The error says what is wrong and where, in a
 * form safe to log: control characters from the body are escaped.
 */
export function parseJsonBody(buf: Buffer): JsonBodyResult {
  if (buf.length === 0) return { ok: false, error: 'body is empty; expected a JSON object' };
  let text: string;
  try {
    text = strictUtf8.decode(buf);
  } catch {
    return { ok: false, error: `body is not valid UTF-8 (${buf.length} bytes); expected a JSON object` };
  }
  if (text.trim() === '') return { ok: false, error: 'body is only whitespace; expected a JSON object' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `body is not valid JSON: ${escapeControlCharacters(reason)}${locate(reason, text)}` };
  }
}

/** V8 reports "at position N" for most syntax errors; people read line and column. */
function locate(reason: string, text: string): string {
  const match = /at position (\d+)/.exec(reason);
  if (match === null) return '';
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}

function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
