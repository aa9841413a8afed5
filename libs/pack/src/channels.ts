import { PackInputError } from './errors';

export type Extras = Record<string, string>;

export interface ChannelSpec {
  id: string;
  extras: Extras;
}

export interface ChannelLimits {
  maxChannels: number;
  /** UTF-8 bytes of one channel id. */
  maxIdBytes: number;
  maxExtrasPerChannel: number;
  /** UTF-8 bytes of all of one channel's extras, keys and values together. */
  maxExtrasBytes: number;
}

export const DEFAULT_CHANNEL_LIMITS: ChannelLimits = {
  maxChannels: 10_000,
  maxIdBytes: 128,
  maxExtrasPerChannel: 32,
  maxExtrasBytes: 8 * 1024,
};

/** Control, format (zero-width, bidi overrides) and line/paragraph separators: invisible or misleading in names. */
const FORBIDDEN_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function describeChar(s: string): string {
  const m = FORBIDDEN_CHARS.exec(s);
  const cp = m?.[0].codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why this channel id is unusable, or null when it is fine. */
export function channelIdProblem(id: string, limits: ChannelLimits = DEFAULT_CHANNEL_LIMITS): string | null {
  if (id.length === 0) return 'is empty';
  if (FORBIDDEN_CHARS.test(id)) return `contains the control or invisible character ${describeChar(id)}`;
  if (id.includes('/') || id.includes('\\')) return 'contains a path separator ("/" or "\\")';
  if (id === '.' || id === '..') return `is "${id}", which names a directory`;
  if (id.trim() !== id) return 'has leading or trailing whitespace';
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > limits.maxIdBytes) return `is ${bytes} bytes long, above the limit of ${limits.maxIdBytes}`;
  return null;
}

function quote(id: string): string {
  return JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
}

/** Checks a whole channel list, reporting every problem at once with the channel it concerns. */
export function validateChannels(channels: readonly ChannelSpec[], limits: ChannelLimits = DEFAULT_CHANNEL_LIMITS): void {
  const problems: string[] = [];
  if (channels.length === 0) problems.push('the channel list is empty; give --channel or --channels');
  if (channels.length > limits.maxChannels) problems.push(`${channels.length} channels, above the limit of ${limits.maxChannels}`);
  const seen = new Set<string>();
  channels.forEach((c, i) => {
    const where = `channel ${i + 1} ${quote(c.id)}`;
    const idProblem = channelIdProblem(c.id, limits);
    if (idProblem) problems.push(`${where} ${idProblem}`);
    if (seen.has(c.id)) problems.push(`${where} is listed more than once`);
    seen.add(c.id);
    const keys = Object.keys(c.extras);
    if (keys.length > limits.maxExtrasPerChannel) problems.push(`${where} has ${keys.length} extras, above the limit of ${limits.maxExtrasPerChannel}`);
    let bytes = 0;
    for (const [k, v] of Object.entries(c.extras)) {
      if (k === '' || FORBIDDEN_CHARS.test(k)) problems.push(`${where} has an extra with an empty or control-character key ${quote(k)}`);
      if (k === 'channel') problems.push(`${where} uses the reserved extra key "channel"`);
      if (FORBIDDEN_CHARS.test(v)) problems.push(`${where} extra ${quote(k)} contains the control character ${describeChar(v)}`);
      bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
    }
    if (bytes > limits.maxExtrasBytes) problems.push(`${where} has ${bytes} bytes of extras, above the limit of ${limits.maxExtrasBytes}`);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    throw new PackInputError(shown.join('; '));
  }
}

/** Parses `key=value`; the key is what comes before the first '='. */
export function parseExtra(text: string, where: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new PackInputError(`${where}: extra ${quote(text)} is not key=value`);
  return [text.slice(0, i).trim(), text.slice(i + 1).trim()];
}

/**
 * A channels file: one channel per line, `#` starts a comment, `id,key=value,…` adds extras. UTF-8 (a BOM is
 * dropped) with LF or CRLF line ends.
 */
export function parseChannelList(text: string, fileLabel = 'channels file', limits: ChannelLimits = DEFAULT_CHANNEL_LIMITS): ChannelSpec[] {
  const out: ChannelSpec[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!line) return;
    const [id = '', ...extraParts] = line.split(',');
    const where = `${fileLabel} line ${i + 1}`;
    const extras: Extras = {};
    for (const part of extraParts) {
      if (!part.trim()) continue;
      const [k, v] = parseExtra(part, where);
      extras[k] = v;
    }
    const problem = channelIdProblem(id.trim(), limits);
    if (problem) throw new PackInputError(`${where}: channel ${quote(id.trim())} ${problem}`);
    out.push({ id: id.trim(), extras });
  });
  return out;
}
