export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** Upper bound of any delay. */
  readonly maxDelayMs: number;
  /** Growth per failed attempt. */
  readonly factor: number;
  /** Random spread as a fraction of the delay (0.2 = up to 20% shorter), so many clients do not reconnect in step. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 250, maxDelayMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before retry number `attempt` (1-based): capped exponential growth with jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** exponent);
  return Math.round(capped * (1 - policy.jitter * random()));
}
