/** A one-line progress bar (count, rate, ETA) for a TTY; plain lines for anything else. */

export interface ProgressState {
  done: number;
  total: number;
  failed: number;
  elapsedMs: number;
}

export interface Output {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** `0:07`, `12:05`, `1:02:03`; `-:--` while unknown. */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-:--';
  const s = Math.round(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** `replay ▕████░░░░▏ 512/1000  51%  850/s  ETA 0:01  failed 2`, fitted to `columns`. */
export function renderProgress(state: ProgressState, columns = 80, label = 'replay'): string {
  const { done, total, failed, elapsedMs } = state;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = done >= total ? 0 : rate > 0 ? ((total - done) / rate) * 1000 : Number.NaN;
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const width = String(total).length;
  const stats = `${String(done).padStart(width)}/${total} ${String(pct).padStart(3)}%  ${formatRate(rate)}/s  ETA ${formatEta(eta)}${failed ? `  failed ${failed}` : ''}`;
  const barWidth = Math.max(10, Math.min(40, columns - stats.length - label.length - 5));
  const filled = total > 0 ? Math.round((done / total) * barWidth) : barWidth;
  return `${label} ▕${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}▏ ${stats}`;
}

const CLEAR_LINE = '\r\x1b[K';

export class ProgressReporter {
  private readonly started: number;
  private lastDraw = -Infinity;
  private state: ProgressState;
  readonly tty: boolean;

  constructor(
    private readonly out: Output,
    total: number,
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = 100,
  ) {
    this.tty = out.isTTY === true;
    this.started = now();
    this.state = { done: 0, total, failed: 0, elapsedMs: 0 };
  }

  update(done: number, failed: number): void {
    this.state = { ...this.state, done, failed, elapsedMs: this.now() - this.started };
    if (!this.tty) return;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs && done < this.state.total) return;
    this.lastDraw = t;
    this.draw();
  }

  /** A line of its own: above the bar on a TTY. */
  line(text: string): void {
    if (this.tty) this.out.write(`${CLEAR_LINE}${text}\n`);
    else this.out.write(`${text}\n`);
    if (this.tty) this.draw();
  }

  finish(): void {
    if (!this.tty) return;
    this.state = { ...this.state, elapsedMs: this.now() - this.started };
    this.draw();
    this.out.write('\n');
  }

  private draw(): void {
    this.out.write(CLEAR_LINE + renderProgress(this.state, this.out.columns ?? 80));
  }
}
