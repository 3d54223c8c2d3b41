/**
 * The progress line printed while a call runs: state, duration and audio levels. On a terminal
 * it redraws one line in place; elsewhere (pipes, CI logs) it prints a line every few seconds.
 */
import { formatDb, levelBar } from './levels.js';

export interface ProgressSnapshot {
  readonly label: string;
  readonly state: string;
  /** ms since connected, or undefined before. */
  readonly talkMs: number | undefined;
  readonly inDb: number;
  readonly outDb: number;
  readonly muted?: boolean;
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m.toString().padStart(2, '0')}:${s.toString().padStart(2, '0')}`;
}

export function formatProgress(p: ProgressSnapshot): string {
  const time = p.talkMs === undefined ? '--:--' : formatDuration(p.talkMs);
  const muted = p.muted ? ' (muted)' : '';
  return (
    `${p.label} ${p.state.padEnd(15)} ${time}  ` +
    `in ${levelBar(p.inDb)} ${formatDb(p.inDb)}  out ${levelBar(p.outDb)} ${formatDb(p.outDb)}${muted}`
  );
}

export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressLine {
  private lastPrinted = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly plainEveryMs = 5000,
  ) {}

  /** Redraws the line; off a terminal prints it every `plainEveryMs`, or now when `force`. */
  update(snapshot: ProgressSnapshot, nowMs: number, force = false): void {
    const line = formatProgress(snapshot);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (force || nowMs - this.lastPrinted >= this.plainEveryMs) {
      this.out.write(`${line}\n`);
      this.lastPrinted = nowMs;
    }
  }

  /** Ends the in-place line so following output starts on a fresh line. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
