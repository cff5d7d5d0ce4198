import { WaitTimeoutError } from '../core/errors.js';

/**
 * Progress of something the CLI waits for (a batch, a job): on a terminal, one bar rewritten in
 * place; anywhere else (a pipe, a log file, CI) a plain line each time the figures change.
 */

export interface ProgressFigures {
  done: number;
  total: number;
  /** Shown after the counts: failures, a handler's message… */
  note?: string;
}

export interface ProgressSink {
  isTTY: boolean;
  columns: number;
  write(text: string): void;
}

export const stdoutSink = (): ProgressSink => ({
  isTTY: process.stdout.isTTY === true,
  columns: process.stdout.columns ?? 80,
  write: (text) => process.stdout.write(text),
});

const BAR_WIDTH = 24;

export class ProgressView {
  private last = '';
  private readonly startedAt = Date.now();
  private firstDone: number | undefined;
  private drawn = false;

  constructor(
    /** What is watched, at the start of each line: `batch 7`. */
    private readonly label: string,
    /** What the rate counts: `jobs/s` for a batch, `/s` for a handler's steps. */
    private readonly unit = 'jobs/s',
    private readonly sink: ProgressSink = stdoutSink(),
  ) {}

  /** How often to look again: a bar moves smoothly, lines need not. */
  get refreshMs(): number {
    return this.sink.isTTY ? 200 : 1000;
  }

  show(f: ProgressFigures): void {
    this.firstDone ??= f.done;
    const text = this.sink.isTTY ? this.bar(f) : this.line(f);
    if (text === this.last) return;
    this.last = text;
    if (this.sink.isTTY) {
      this.sink.write(`\r\x1b[2K${text.slice(0, Math.max(20, this.sink.columns - 1))}`);
      this.drawn = true;
    } else {
      this.sink.write(`${text}\n`);
    }
  }

  /** The last figures, left on screen: the bar's line ends before the outcome is printed. */
  end(f: ProgressFigures): void {
    this.show(f);
    if (this.drawn) this.sink.write('\n');
  }

  /** `batch 7: 40/100 done (2 failed), 13.2 jobs/s, about 5 s left` */
  private line(f: ProgressFigures): string {
    return `${this.label}: ${f.done}/${f.total} done${f.note ? ` (${f.note})` : ''}${this.pace(f)}`;
  }

  /** `batch 7 [#########---------------] 40/100  2 failed, 0 cancelled, 13.2 jobs/s, about 5 s left` */
  private bar(f: ProgressFigures): string {
    const filled = f.total === 0 ? BAR_WIDTH : Math.round((f.done / f.total) * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    return `${this.label} ${bar} ${f.done}/${f.total}${f.note ? `  ${f.note}` : ''}${this.pace(f)}`;
  }

  private pace(f: ProgressFigures): string {
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed >= 1 ? (f.done - (this.firstDone ?? 0)) / elapsed : 0;
    if (rate <= 0) return '';
    return `, ${rate.toFixed(1)} ${this.unit}${f.done < f.total ? `, about ${Math.ceil((f.total - f.done) / rate)} s left` : ''}`;
  }
}

export interface Watched<T> {
  /** Reads what is watched. */
  read(): Promise<T>;
  /** Waits until it has finished, or at most `ms` (returns either way). */
  wait(ms: number): Promise<void>;
  finished(item: T): boolean;
  /** Its progress to show, when it has some. */
  figures(item: T): ProgressFigures | undefined;
  /** The error of a wait that ran out. */
  timedOut(): Error;
}

/** Reads `w` until it has finished, showing its progress on `view` meanwhile; past `timeoutMs`, throws `w.timedOut()`. */
export async function watchUntilFinished<T>(w: Watched<T>, view: ProgressView | undefined, timeoutMs?: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const item = await w.read();
    const figures = w.figures(item);
    if (w.finished(item)) {
      if (figures) view?.end(figures);
      return item;
    }
    if (figures) view?.show(figures);
    const every = view?.refreshMs ?? 1000;
    const left = timeoutMs === undefined ? every : Math.min(every, started + timeoutMs - Date.now());
    if (left <= 0) {
      if (figures) view?.end(figures);
      throw w.timedOut();
    }
    await w.wait(left);
  }
}

/** A wait of the library's (`waitForJob`, `waitForBatch`) that returns when its time is up instead of rejecting. */
export async function untilDoneOr(wait: Promise<unknown>): Promise<void> {
  try {
    await wait;
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
  }
}
