/**
 * When did a phone hear the other's tone again after a network change? Both phones' audio is
 * cut into 100 ms windows placed on the wall clock (Date.now(), shared by every process on the
 * machine): a window is "ok" when it is voiced (≥ −40 dBFS) and the tone carries at least half of
 * its energy (tone-detector.ts's rule). A change is survived when, after it, a steady stretch of
 * ok windows starts — and stays.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { toneRatio } from '../../src/media/goertzel.js';

/** [end of the window, Date.now() ms; 1 when the tone dominated it]. */
export type Window = readonly [t: number, ok: number];

export const WINDOW_MS = 100;
const WINDOW_SAMPLES = 4_800;
/** The recording's rate: 48 kHz mono s16. */
const BYTES_PER_MS = 96;
const VOICED_RMS = 32768 * 10 ** (-40 / 20);

export interface Recovery {
  /** ms from the change to the start of the first steady stretch of the tone; undefined: never. */
  readonly backMs: number | undefined;
  /** Longest run without the tone between the change and `backMs` (ms). */
  readonly gapMs: number;
}

/**
 * The first window after `t0` from which `holdMs` of windows are ok in at least `share` of cases
 * (and that window itself is ok). A few ok windows left in a jitter buffer right after the change
 * do not count: they are no steady stretch.
 */
export function recovery(windows: readonly Window[], t0: number, holdMs = 1_000, share = 0.9): Recovery {
  const after = windows.filter(([t]) => t > t0);
  const need = Math.floor(holdMs / WINDOW_MS);
  let gap = 0;
  let run = 0;
  for (let i = 0; i < after.length; i++) {
    const [t, ok] = after[i]!;
    if (!ok) {
      run += WINDOW_MS;
      gap = Math.max(gap, run);
      continue;
    }
    run = 0;
    const stretch = after.slice(i, i + need);
    if (stretch.length < need) break;
    if (stretch.filter(([, o]) => o).length >= share * need) return { backMs: Math.max(0, t - WINDOW_MS - t0), gapMs: gap };
  }
  return { backMs: undefined, gapMs: gap };
}

/** Where one phone's windows come from (a child's `heard`, ntgcalls' recording). */
export type WindowSource = (since: number) => Promise<readonly Window[]> | readonly Window[];

/**
 * Polls every 500 ms until each source has recovered after `from`, or `boundMs` (+ the 1 s hold)
 * has passed. Returns each source's recovery; `backMs` undefined for one that never came back.
 */
export async function awaitRecovery(sources: readonly WindowSource[], since: number, from: number, boundMs: number): Promise<Recovery[]> {
  let result: Recovery[] = sources.map(() => ({ backMs: undefined, gapMs: 0 }));
  for (let i = 0; i < 200 && Date.now() < from + boundMs + 1_500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    result = [];
    for (const source of sources) result.push(recovery(await source(since), from));
    if (result.every((r) => r.backMs !== undefined)) break;
  }
  return result;
}

/** "3.1 s (longest gap 2.9 s)", or "never (…)". */
export function describeRecovery(r: Recovery): string {
  return r.backMs === undefined ? `never (gap ${(r.gapMs / 1000).toFixed(1)} s so far)` : `${(r.backMs / 1000).toFixed(1)} s (longest gap ${(r.gapMs / 1000).toFixed(1)} s)`;
}

/**
 * After a recovery the tone must fill at least this share of the windows until the next change:
 * a lost path gives ~0; a few windows of concealment or time-stretching while a jitter buffer
 * settles on a loaded machine are allowed (seen: 4 of 20 windows in ntgcalls' first seconds).
 */
export const KEEPS_SHARE = 0.8;

/** The windows ending in (from, to] as "1101…", for failure messages. */
export function pattern(windows: readonly Window[], from: number, to: number): string {
  return windows
    .filter(([t]) => t > from && t <= to)
    .map(([, ok]) => (ok ? '1' : '0'))
    .join('');
}

/** Share of ok windows ending in (from, to]; 0 when there are none. */
export function okShare(windows: readonly Window[], from: number, to: number): number {
  const inside = windows.filter(([t]) => t > from && t <= to);
  return inside.length === 0 ? 0 : inside.filter(([, ok]) => ok).length / inside.length;
}

/** Whether a 100 ms window of s16 mono 48 kHz audio is voiced and dominated by `hz`. */
export function windowOk(samples: Int16Array, start: number, hz: number): boolean {
  let energy = 0;
  for (let i = start; i < start + WINDOW_SAMPLES; i++) energy += samples[i]! * samples[i]!;
  return Math.sqrt(energy / WINDOW_SAMPLES) >= VOICED_RMS && toneRatio(samples, hz, 48000, start, WINDOW_SAMPLES) >= 0.5;
}

/**
 * A recording that grows while the call runs (ntgcalls' PLAYBACK file, s16le mono 48 kHz) as
 * windows on the wall clock. `progress(bytes)` notes the file's size now (ntgcalls' stats events);
 * a window's time is when the file first held its last byte, linear between two notes. Windows
 * after the last note wait for the next one.
 */
export class RecordingTimeline {
  private readonly notes: [number, number][] = [];
  private readonly done: Window[] = [];
  private analysedBytes = 0;

  constructor(
    private readonly path: string,
    private readonly hz: number,
  ) {}

  progress(bytes: number, at = Date.now()): void {
    const last = this.notes.at(-1);
    if (!last || bytes > last[1]) this.notes.push([at, bytes]);
  }

  windows(): readonly Window[] {
    const upTo = this.notes.at(-1)?.[1] ?? 0;
    const bytes = WINDOW_SAMPLES * 2;
    const count = Math.floor((upTo - this.analysedBytes) / bytes);
    if (count <= 0) return this.done;
    const buffer = Buffer.alloc(count * bytes);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.analysedBytes);
    } finally {
      closeSync(fd);
    }
    const samples = new Int16Array(buffer.buffer, buffer.byteOffset, buffer.length / 2);
    let n = 0;
    for (let k = 0; k < count; k++) {
      const endByte = this.analysedBytes + (k + 1) * bytes;
      while (n < this.notes.length && this.notes[n]![1] < endByte) n++;
      const [t1, b1] = this.notes[n]!;
      // Before the first note: the recorder wrote those bytes in real time up to it (ntgcalls 3.0.5
      // writes silence from before CONNECTED, ~2 s by its first stats); stamping them all at the
      // first note's time put that silence after tgcall's connect and failed the 'connect' phase.
      const [t0, b0] = n > 0 ? this.notes[n - 1]! : [t1 - b1 / BYTES_PER_MS, 0];
      const t = b1 === b0 ? t1 : t0 + ((endByte - b0) / (b1 - b0)) * (t1 - t0);
      this.done.push([Math.round(t), windowOk(samples, k * WINDOW_SAMPLES, this.hz) ? 1 : 0]);
    }
    this.analysedBytes += count * bytes;
    return this.done;
  }
}
