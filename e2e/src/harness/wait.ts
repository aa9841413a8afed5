export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Extra context for the timeout error (e.g. service output), computed only when the wait fails. */
  detail?: () => string;
}

/** Polls `condition` until it holds; the timeout error names what was awaited and carries `detail()`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const detail = opts.detail?.();
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${detail ? `\n${detail}` : ''}`);
    }
    await delay(opts.intervalMs ?? 100);
  }
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the input order in the results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Waits for `work` at most `ms`; resolves undefined on timeout. The timer is cleared so it never holds the process. */
export async function atMost<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
