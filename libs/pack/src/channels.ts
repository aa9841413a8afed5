import { MAX_CHANNELS, channelIdProblem, extrasProblems, quoted, type Extras } from '@subpack/rules';
import { PackInputError } from './errors';

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

/**
 * Parses `key=value`; the key is what comes before the first '='. Nothing is trimmed: the rules refuse a key with
 * outer whitespace, and a value's spaces are written into the APK as given.
 */
export function parseExtra(text: string, where: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new PackInputError(`${where}: extra ${quoted(text)} is not key=value`);
  return [text.slice(0, i), text.slice(i + 1)];
}

/** `id` or `id,key=value,…`, checked by the shared rule as given: nothing is trimmed, so the id is what the task would carry. */
function parseEntry(text: string, where: string): ChannelSpec {
  const [id = '', ...extraParts] = text.split(',');
  const extras: Extras = {};
  for (const part of extraParts) {
    // A trailing comma, or two in a row, adds nothing.
    if (part === '') continue;
    const [k, v] = parseExtra(part, where);
    extras[k] = v;
  }
  const problem = channelIdProblem(id) ?? extrasProblems(extras)[0];
  if (problem) throw new PackInputError(`${where}: channel ${quoted(id)} ${problem}`);
  return { id, extras };
}

/** One `--channel` value: `id` or `id,key=value,…`. It has no comment syntax and no line structure. */
export function parseChannelOption(text: string, option = '--channel'): ChannelSpec {
  return parseEntry(text, option);
}

/** A comment runs from `#` to the end of the line, with the blanks just before it; neither is part of the id. */
const COMMENT = /[ \t]*#.*$/;

/** A parsed channel and where it was given: a line of a file, or an option. */
interface Placed {
  spec: ChannelSpec;
  /** Prefixes its errors: "ch.txt line 3" or "--channel". */
  where: string;
  file?: string;
  line?: number;
}

function fileEntries(text: string, fileLabel: string): Placed[] {
  const out: Placed[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(COMMENT, '');
    if (line.trim() === '') return;
    const where = `${fileLabel} line ${i + 1}`;
    out.push({ spec: parseEntry(line, where), where, file: fileLabel, line: i + 1 });
  });
  return out;
}

/** Refuses an id given twice, naming both places: "(first on line 2)" in one file, else where the first one was. */
function unique(entries: readonly Placed[]): ChannelSpec[] {
  const first = new Map<string, Placed>();
  for (const entry of entries) {
    const earlier = first.get(entry.spec.id);
    if (earlier !== undefined) {
      const at = earlier.file === undefined ? `also given with ${earlier.where}` : earlier.file === entry.file ? `first on line ${earlier.line}` : `first in ${earlier.where}`;
      throw new PackInputError(`${entry.where}: channel ${quoted(entry.spec.id)} is listed more than once (${at})`);
    }
    first.set(entry.spec.id, entry);
  }
  return entries.map((e) => e.spec);
}

/**
 * A channels file: one channel per line, `#` starts a comment, `id,key=value,…` adds extras. UTF-8 (a BOM is
 * dropped) with LF or CRLF line ends. Blank lines are skipped; anything else is checked as written (no trimming), and a
 * channel listed twice is refused with both line numbers.
 */
export function parseChannelList(text: string, fileLabel = 'channels file'): ChannelSpec[] {
  return unique(fileEntries(text, fileLabel));
}

export interface ChannelLineProblem {
  /** 1-based line number in the text. */
  line: number;
  message: string;
}

/**
 * A channels file checked whole: every line by the same rules as parseChannelList, and every problem reported with its
 * line instead of stopping at the first (for a person fixing a pasted list in one go).
 */
export function checkChannelList(text: string, fileLabel = 'channels file'): { channels: ChannelSpec[]; problems: ChannelLineProblem[] } {
  const channels: ChannelSpec[] = [];
  const problems: ChannelLineProblem[] = [];
  const firstLine = new Map<string, number>();
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(COMMENT, '');
    if (line.trim() === '') return;
    const where = `${fileLabel} line ${i + 1}`;
    try {
      const spec = parseEntry(line, where);
      const earlier = firstLine.get(spec.id);
      if (earlier !== undefined) throw new PackInputError(`${where}: channel ${quoted(spec.id)} is listed more than once (first on line ${earlier})`);
      firstLine.set(spec.id, i + 1);
      channels.push(spec);
    } catch (err) {
      if (!(err instanceof PackInputError)) throw err;
      problems.push({ line: i + 1, message: err.message });
    }
  });
  return { channels, problems };
}

/**
 * The channels of a command line: each `--channel` value, then the lines of the `--channels` file. An id given twice,
 * in either or across both, is refused naming both places.
 */
export function parseChannelArguments(options: readonly string[], file?: { text: string; label: string }, option = '--channel'): ChannelSpec[] {
  const fromOptions = options.map((text): Placed => ({ spec: parseChannelOption(text, option), where: option }));
  return unique([...fromOptions, ...(file ? fileEntries(file.text, file.label) : [])]);
}

/** The ids with a space inside: allowed, but they become file and object names, which some tools handle badly. */
export function idsWithSpaces(channels: readonly ChannelSpec[]): string[] {
  return channels.filter((c) => /\s/u.test(c.id)).map((c) => c.id);
}
