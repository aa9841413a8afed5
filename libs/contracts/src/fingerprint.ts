import { createHash } from 'node:crypto';
import { withPackTaskDefaults, type PackTask } from './schemas/pack-task';

/**
 * A digest of what a task asks for: its content with the defaults filled in and without submittedAt (a resend may
 * carry a new time). Two sends of one taskId with the same fingerprint are the same task; anything else is a
 * different task that reuses the id.
 */
export function packTaskFingerprint(task: PackTask): string {
  const { submittedAt: _submittedAt, ...content } = withPackTaskDefaults(task);
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

/** JSON with object keys sorted at every level, so key order in the published message does not matter. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
