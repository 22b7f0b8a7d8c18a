/**
 * Progress reporting on stderr (stdout stays clean for --json output). On a TTY a redrawn bar
 * (cli-progress) with count, rate and ETA; otherwise quiet structured lines
 * (`label: 120/500 (24%) 12 s, 10.0 it/s, ETA 38 s`) at most every `everySeconds`. A task that ends
 * within `quietSeconds` prints nothing, so fast steps stay silent.
 *
 * Library code (indexer fits, data reads, compare stages) reports through `track`, which is silent
 * unless a front end turned reporting on with `setProgressEnabled(true)` (the CLI does); code that
 * always wants output constructs a Progress directly.
 */
import { SingleBar } from 'cli-progress';

/** Options of a Progress. */
export interface ProgressOptions {
  /** Non-TTY: seconds between lines (default 10). */
  everySeconds?: number;
  /** Nothing is shown before this many seconds (default 1). */
  quietSeconds?: number;
  /** Unit of the count, shown with the rate (default "it"). */
  unit?: string;
  /** Divide counts by this for display (e.g. 1e6 for bytes shown as MB). */
  scale?: number;
}

/** Seconds as "42 s", "3 min 05 s" or "1 h 02 min". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** One progress task: `update(done)` as it goes, `done()` at the end. */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private shown = false;
  private finished = false;
  private bar: SingleBar | undefined;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly every: number;
  private readonly quiet: number;
  private readonly unit: string;
  private readonly scale: number;
  private lastDone = 0;
  private printedFinal = false;

  /**
   * @param label what is being done ("rqkmeans level 1", "epoch 3/20")
   * @param total the count at completion (0 when unknown)
   * @param opts options, or (for older callers) the non-TTY line interval in seconds
   */
  constructor(
    private readonly label: string,
    private total: number,
    opts: ProgressOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { everySeconds: opts } : opts;
    this.every = (o.everySeconds ?? 10) * 1000;
    this.quiet = (o.quietSeconds ?? 1) * 1000;
    this.unit = o.unit ?? 'it';
    this.scale = o.scale ?? 1;
  }

  private figures(done: number, now: number) {
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? done / this.scale / elapsed : 0;
    const left = this.total > 0 ? Math.max(0, this.total - done) / this.scale : Number.NaN;
    const eta = rate > 0 ? left / rate : Number.NaN;
    const fmt = (x: number) => (this.scale === 1 ? String(Math.round(x)) : x.toFixed(1));
    return { elapsed, rate, eta, fmt };
  }

  /** Reports `done` of `total`; `extra` is shown after the figures (a loss, a rate of tokens...). */
  update(done: number, extra = ''): void {
    if (this.finished) return;
    this.lastDone = done;
    const now = Date.now();
    if (now - this.start < this.quiet && (this.total <= 0 || done < this.total)) return;
    const f = this.figures(done, now);
    const rate = `${f.rate >= 10 ? f.rate.toFixed(0) : f.rate.toFixed(2)} ${this.unit}/s`;
    if (this.tty) {
      if (this.bar === undefined) {
        this.bar = new SingleBar({
          stream: process.stderr,
          format: `${this.label} [{bar}] {value}/{total} | {rate} | ETA {etaText} | {elapsedText} {extra}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
          formatValue: (v, _o, type) =>
            type === 'value' || type === 'total' ? f.fmt(Number(v) / this.scale) : String(v),
        });
        this.bar.start(Math.max(this.total, done), 0, { rate, etaText: '?', elapsedText: '', extra });
      }
      if (done > this.total && this.total > 0) this.bar.setTotal(done);
      this.bar.update(done, {
        rate,
        etaText: formatSeconds(f.eta),
        elapsedText: `${formatSeconds(f.elapsed)} elapsed`,
        extra,
      });
      this.shown = true;
      return;
    }
    const finalLine = this.total > 0 && done >= this.total;
    if (finalLine && this.printedFinal) return;
    if (this.shown && now - this.last < this.every && !finalLine) return;
    if (finalLine) this.printedFinal = true;
    const of = this.total > 0 ? `/${f.fmt(this.total / this.scale)} (${Math.floor((100 * done) / this.total)}%)` : '';
    const eta = finalLine ? '' : `, ETA ${formatSeconds(f.eta)}`;
    process.stderr.write(
      `${this.label}: ${f.fmt(done / this.scale)}${of} ${formatSeconds(f.elapsed)}, ${rate}${eta}${extra ? ` ${extra}` : ''}\n`,
    );
    this.shown = true;
    this.last = now;
  }

  /** Changes the total (for a count that is learned on the way). */
  setTotal(total: number): void {
    this.total = total;
    this.bar?.setTotal(total);
  }

  /** Ends the task: a final line (or the completed bar) when anything was shown or it took a while. */
  done(extra = ''): void {
    if (this.finished) return;
    const end = this.total > 0 ? this.total : this.lastDone;
    if (this.total <= 0) this.total = end;
    if (this.shown || Date.now() - this.start >= this.quiet) this.update(end, extra);
    this.finished = true;
    if (this.bar !== undefined) this.bar.stop();
  }
}

/** The part of Progress library code uses. */
export interface ProgressTask {
  update(done: number, extra?: string): void;
  done(extra?: string): void;
}

const SILENT: ProgressTask = { update() {}, done() {} };
let enabled = false;

/** Turns `track` reporting on or off (off by default: a library prints nothing unasked). */
export function setProgressEnabled(on: boolean): void {
  enabled = on;
}

/** Whether `track` reports. */
export function progressEnabled(): boolean {
  return enabled;
}

/** A progress task for library code: a Progress when reporting is on, else a silent one. */
export function track(label: string, total: number, opts: ProgressOptions = {}): ProgressTask {
  return enabled ? new Progress(label, total, opts) : SILENT;
}
