export function now(): string {
  return new Date().toISOString();
}

/** The field that says an event belongs to a retried run of its task: absent on the first run. */
export function attemptField(attempt: number | undefined): { taskAttempt?: number } {
  return attempt !== undefined && attempt > 1 ? { taskAttempt: attempt } : {};
}
