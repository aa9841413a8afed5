import { forbiddenCharacter, hasOuterWhitespace, utf8Length } from './text';

/** A channel id is read back by Walle/VasDolly readers as UTF-8 and names the output file, so its cap is in bytes. */
export const CHANNEL_ID_MAX_BYTES = 128;

/** Cap on channels in one pack job or task. A deployment may set a lower one (SUBPACK_MAX_CHANNELS). */
export const MAX_CHANNELS = 10_000;

/** Why this channel id cannot be used, or null when it is fine. The message completes "channel <id> …". */
export function channelIdProblem(id: string): string | null {
  if (id.length === 0) return 'is empty';
  const forbidden = forbiddenCharacter(id);
  if (forbidden) return `contains the control or invisible character ${forbidden}`;
  if (id.includes('/') || id.includes('\\')) return 'contains a path separator ("/" or "\\")';
  if (id === '.' || id === '..') return `is "${id}", which names a directory`;
  if (hasOuterWhitespace(id)) return 'has leading or trailing whitespace';
  const bytes = utf8Length(id);
  if (bytes > CHANNEL_ID_MAX_BYTES) return `is ${bytes} bytes long (UTF-8), above the limit of ${CHANNEL_ID_MAX_BYTES}`;
  return null;
}
