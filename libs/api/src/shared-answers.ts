/**
 * Answers computed at most once per `ttlMs` for the same key, shared by every caller asking meanwhile (and by callers
 * arriving while it is computed). For reads that many people poll at once, such as the task list, whose changes reach
 * them live over Server-Sent Events anyway: fifty dashboards cost one Redis read per period, not fifty.
 */
export class SharedAnswers<T> {
  private readonly answers = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys = 200,
  ) {}

  get(key: string, compute: () => Promise<T>, now: number = Date.now()): Promise<T> {
    const known = this.answers.get(key);
    if (known && now - known.at < this.ttlMs) return known.value;
    const value = compute();
    this.answers.set(key, { at: now, value });
    // A failed computation is not shared beyond the callers already waiting for it.
    value.catch(() => {
      if (this.answers.get(key)?.value === value) this.answers.delete(key);
    });
    if (this.answers.size > this.maxKeys) {
      for (const [k, v] of this.answers) if (now - v.at >= this.ttlMs || this.answers.size > this.maxKeys) this.answers.delete(k);
    }
    return value;
  }

  /** Forgets every answer (after a write that changes them, so its author sees it at once). */
  clear(): void {
    this.answers.clear();
  }
}
