/**
 * Progress reporting: a redrawn bar on a TTY, a log line at most every `everySeconds` otherwise.
 * Writes to stderr so stdout stays clean for --json output.
 */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly everySeconds = 10,
  ) {}
  update(done: number, extra = ''): void {
    const now = Date.now();
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const elapsed = (now - this.start) / 1000;
    if (this.tty) {
      if (now - this.last < 100 && done < this.total) return;
      const w = 30;
      const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, '.');
      process.stderr.write(
        `\r${this.label} [${bar}] ${done}/${this.total} ${elapsed.toFixed(0)}s ${extra}`.padEnd(100),
      );
    } else {
      if (now - this.last < this.everySeconds * 1000 && done < this.total) return;
      process.stderr.write(
        `${this.label}: ${done}/${this.total} (${(frac * 100).toFixed(0)}%) ${elapsed.toFixed(0)}s ${extra}\n`,
      );
    }
    this.last = now;
  }
  done(extra = ''): void {
    this.update(this.total, extra);
    if (this.tty) process.stderr.write('\n');
  }
}
