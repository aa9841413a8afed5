import { MAX_CHANNELS, channelIdProblem, extrasProblems, quoted, type Extras } from '@subpack/rules';
import { PackInputError } from './errors';

export type { Extras };

export interface ChannelSpec {
  id: string;
  extras: Extras;
}

/**
 * Checks a whole channel list, reporting every problem at once with the channel it concerns. The extras are the ones
 * written into each APK (common extras already merged in). `maxChannels` is the deployment's cap (MAX_CHANNELS at most).
 */
export function validateChannels(channels: readonly ChannelSpec[], maxChannels: number = MAX_CHANNELS): void {
  const problems: string[] = [];
  if (channels.length === 0) problems.push('the channel list is empty; give --channel or --channels');
  if (channels.length > maxChannels) problems.push(`${channels.length} channels, above the limit of ${maxChannels}`);
  const seen = new Set<string>();
  channels.forEach((c, i) => {
    const where = `channel ${i + 1} ${quoted(c.id)}`;
    const idProblem = channelIdProblem(c.id);
    if (idProblem) problems.push(`${where} ${idProblem}`);
    if (seen.has(c.id)) problems.push(`${where} is listed more than once`);
    seen.add(c.id);
    for (const problem of extrasProblems(c.extras)) problems.push(`${where} ${problem}`);
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
  if (i <= 0) throw new PackInputError(`${where}: extra ${quoted(text)} is not key=value`);
  return [text.slice(0, i).trim(), text.slice(i + 1).trim()];
}

/**
 * A channels file: one channel per line, `#` starts a comment, `id,key=value,…` adds extras. UTF-8 (a BOM is
 * dropped) with LF or CRLF line ends.
 */
export function parseChannelList(text: string, fileLabel = 'channels file'): ChannelSpec[] {
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
    const problem = channelIdProblem(id.trim());
    if (problem) throw new PackInputError(`${where}: channel ${quoted(id.trim())} ${problem}`);
    out.push({ id: id.trim(), extras });
  });
  return out;
}
