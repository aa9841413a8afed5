/** A one-line progress bar on a TTY; silent elsewhere so logs and pipes stay clean. */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled: boolean = Boolean(stream.isTTY),
  ) {}

  /** Clears the bar's line so a message can be written on it; writes nothing when the bar is off (no TTY). */
  clearLine(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }

  update(done: number, label: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.lastDraw < 80) return;
    this.lastDraw = now;
    const width = 28;
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const elapsed = (now - this.started) / 1000;
    const rate = done > 0 ? `${(elapsed / done).toFixed(2)}s/ch` : '';
    const cols = this.stream.columns || 100;
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${rate} ${label}`;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
