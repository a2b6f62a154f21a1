/**
 * Progress reporting for long work: a redrawn bar on a TTY, plain periodic lines otherwise (logs, CI).
 * Everything long in torchxfer reports through this, so the look is the same everywhere.
 */
export interface ProgressOptions {
  /** Units of work in total (images, steps...). */
  total: number;
  /** Short label shown first, e.g. "decode" or "epoch 3/20". */
  label: string;
  /** Unit name for the rate, e.g. "img" -> "img/s". */
  unit?: string;
  /** Where to draw; default process.stderr. `null` silences it. */
  stream?: NodeJS.WritableStream | null;
  /** Minimum ms between plain (non-TTY) lines. Default 5000. */
  plainIntervalMs?: number;
}

export class Progress {
  private done_ = 0;
  private readonly start = performance.now();
  private lastDraw = 0;
  private info: Record<string, string | number> = {};
  private readonly tty: boolean;
  private readonly stream: NodeJS.WritableStream | null;
  private closed = false;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream === undefined ? process.stderr : opts.stream;
    this.tty = Boolean(this.stream && (this.stream as NodeJS.WriteStream).isTTY) && !process.env.CI;
  }

  get completed(): number {
    return this.done_;
  }

  /** Adds `n` completed units and optional key/value info (loss, lr...) shown after the bar. */
  tick(n = 1, info?: Record<string, string | number>): void {
    this.done_ += n;
    if (info) this.info = { ...this.info, ...info };
    this.draw(false);
  }

  /** Updates the info without counting progress. */
  set(info: Record<string, string | number>): void {
    this.info = { ...this.info, ...info };
    this.draw(false);
  }

  /** Final line (always printed). */
  finish(message?: string): void {
    if (this.closed) return;
    this.draw(true, message);
    this.closed = true;
  }

  /** Seconds per unit so far, and the estimated seconds left. */
  rate(): { perSecond: number; etaSeconds: number } {
    const elapsed = (performance.now() - this.start) / 1000;
    const perSecond = elapsed > 0 ? this.done_ / elapsed : 0;
    const etaSeconds = perSecond > 0 ? Math.max(0, this.opts.total - this.done_) / perSecond : Infinity;
    return { perSecond, etaSeconds };
  }

  private draw(final: boolean, message?: string): void {
    if (!this.stream || this.closed) return;
    const now = performance.now();
    const interval = this.tty ? 100 : (this.opts.plainIntervalMs ?? 5000);
    if (!final && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    const { perSecond, etaSeconds } = this.rate();
    const total = Math.max(1, this.opts.total);
    const frac = Math.min(1, this.done_ / total);
    const unit = this.opts.unit ?? 'it';
    const info = Object.entries(this.info)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const stats = `${this.done_}/${this.opts.total} ${formatNumber(perSecond)} ${unit}/s ${final ? `in ${formatDuration((now - this.start) / 1000)}` : `ETA ${formatDuration(etaSeconds)}`}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(
        `\r\x1b[2K${this.opts.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${stats}${info ? '  ' + info : ''}${final ? '\n' : ''}`,
      );
      if (final && message) this.stream.write(message + '\n');
    } else {
      this.stream.write(
        `${this.opts.label} ${(frac * 100).toFixed(0)}% ${stats}${info ? '  ' + info : ''}${message ? '  ' + message : ''}\n`,
      );
    }
  }
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return a < 1 ? v.toPrecision(3) : v.toFixed(a < 100 ? 2 : 0);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}
