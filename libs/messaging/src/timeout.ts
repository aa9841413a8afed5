/** Waits for `promise` at most `ms`; the timer is cleared either way so it never keeps the process alive. */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ settled: true; value: T } | { settled: false }> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then((value) => ({ settled: true as const, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}
