/** Task ids become part of Redis keys (inside a {hash tag}) and message ids, so they are plain ASCII without braces. */
export const TASK_ID_MAX_LENGTH = 128;
export const TASK_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]*$';
export const TASK_ID_RULE = 'must start with a letter or digit and contain only letters, digits, ".", "_", ":" and "-"';

const TASK_ID = new RegExp(TASK_ID_PATTERN);

/** Why this task id cannot be used, or null; the message completes "task id …". */
export function taskIdProblem(taskId: string): string | null {
  if (taskId.length === 0) return 'is empty';
  if (taskId.length > TASK_ID_MAX_LENGTH) return `is ${taskId.length} characters long, above the limit of ${TASK_ID_MAX_LENGTH}`;
  if (!TASK_ID.test(taskId)) return TASK_ID_RULE;
  return null;
}
