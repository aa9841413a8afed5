import { CorruptTaskStateError } from './errors';

/** Small guards for the untyped replies of EVAL/MULTI, so a surprise fails loudly instead of flowing on as `unknown`. */

export function replyArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${what}: expected an array reply from Redis, got ${typeof value}`);
  return value;
}

export function replyInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${what}: expected an integer reply from Redis, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function replyString(value: unknown, what: string): string {
  if (typeof value !== 'string') {
    throw new TypeError(`${what}: expected a string reply from Redis, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A flat [field, value, field, value, ...] reply (HGETALL inside Lua, HSCAN) as a Map. */
export function pairsToMap(flat: readonly unknown[], what: string): Map<string, string> {
  if (flat.length % 2 !== 0) throw new TypeError(`${what}: expected field/value pairs, got ${flat.length} items`);
  const map = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) {
    map.set(replyString(flat[i], what), replyString(flat[i + 1], what));
  }
  return map;
}

/** The results of a MULTI/EXEC, with the first per-command error rethrown. */
export function execResults(replies: [Error | null, unknown][] | null, what: string): unknown[] {
  if (replies === null) throw new Error(`${what}: transaction was aborted`);
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

export function parseJsonField(key: string, field: string, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new CorruptTaskStateError(key, `field "${field}" is not JSON: ${raw.slice(0, 80)}`);
  }
}
