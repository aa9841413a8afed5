/**
 * Whether the process outlives its command: only `subpack serve` does (its command returns once the server listens).
 * Every other command is over when it returns, whatever a library still has pending.
 */
export const lifetime = { serving: false };
