/**
 * Mouth-to-ear latency across processes: both ends send the tone-burst signal
 * (test/helpers/tone-bursts.ts) and note, on CLOCK_MONOTONIC, when each frame was handed over
 * (mouth) and when each received frame was played out (ear). CLOCK_MONOTONIC is shared by every
 * process on the machine, whatever its network namespace: Node's process.hrtime and Python's
 * time.monotonic_ns both read it, so a burst's latency is a plain difference.
 *
 * - ntgcalls: latency_probe.py writes `<rx>.mouth` (int64 ns per 10 ms frame sent) and `<rx>.ear`
 *   (int64 ns per 10 ms frame played) next to its raw recording `<rx>`.
 * - tgcall: `TgcallProbe` pushes the signal live (`audio.pushFrame`, one 20 ms frame when due, like a
 *   microphone) and records `audio.frames()` with their playout times.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Call } from '../../src/index.js';
import { readS16le } from './tone-detector.js';
import { BURST_PERIOD_MS, BurstSignal, findOnsets, matchBursts, percentile, type BurstLatency } from '../helpers/tone-bursts.js';

/** CLOCK_MONOTONIC now, ms. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Session clock (performance.timeOrigin + performance.now()) → CLOCK_MONOTONIC ms. */
const sessionToMonotonic = (() => {
  const offset = monotonicMs() - (performance.timeOrigin + performance.now());
  return (t: number): number => t + offset;
})();

function readTimes(path: string): number[] {
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const out: number[] = [];
  for (let o = 0; o + 8 <= buf.length; o += 8) out.push(Number(buf.readBigInt64LE(o)) / 1e6);
  return out;
}

export interface ProbeSide {
  /** Mouth time of burst k (its first sample handed over), ms, or NaN if not sent. */
  mouthMs(k: number): number;
  /** Burst onsets heard, with their ear times (ms). */
  onsets(): { earMs: number; code: number }[];
}

/** What an ntgcalls peer with `capture: 'bursts'`, `playback: 'timed'` sent and heard. */
export function ntgcallsProbe(rxPath: string): ProbeSide {
  const mouth = readTimes(`${rxPath}.mouth`);
  const ear = readTimes(`${rxPath}.ear`);
  const framesPerBurst = (BURST_PERIOD_MS * 48) / 480;
  return {
    mouthMs: (k) => mouth[k * framesPerBurst] ?? NaN,
    onsets() {
      if (!existsSync(rxPath)) return [];
      const pcm = readS16le(rxPath);
      return findOnsets(pcm).flatMap((o) => {
        const at = ear[Math.floor(o.index / 480)];
        return at === undefined ? [] : [{ earMs: at + (o.index % 480) / 48, code: o.code }];
      });
    },
  };
}

/** Sends the probe signal into a tgcall call as live input and records what it plays out. */
export class TgcallProbe implements ProbeSide {
  private readonly mouth: number[] = [];
  private readonly heard: { t: number; pcm: Int16Array }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly call: Call;
  private readonly frames: AsyncIterator<{ pcm: Int16Array; timestamp: number }>;
  private readonly collecting: Promise<void>;

  constructor(call: Call) {
    this.call = call;
    this.frames = call.audio.frames()[Symbol.asyncIterator]();
    this.collecting = this.collect();
  }

  private async collect(): Promise<void> {
    for (;;) {
      const next = await this.frames.next();
      if (next.done || this.stopped) return;
      this.heard.push({ t: sessionToMonotonic(next.value.timestamp), pcm: next.value.pcm });
    }
  }

  /** Starts sending: frame i is handed over when due (start + i × 20 ms), like a microphone. */
  start(): void {
    const signal = new BurstSignal();
    const start = monotonicMs();
    let i = 0;
    const run = (): void => {
      if (this.stopped) return;
      const now = monotonicMs();
      while (start + i * 20 <= now) {
        this.mouth.push(now);
        this.call.audio.pushFrame(signal.next(960));
        i += 1;
      }
      this.timer = setTimeout(run, Math.max(0, start + i * 20 - monotonicMs()));
    };
    run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.frames.return?.();
    await this.collecting;
  }

  mouthMs(k: number): number {
    return this.mouth[(k * BURST_PERIOD_MS) / 20] ?? NaN;
  }

  onsets(): { earMs: number; code: number }[] {
    const pcm = new Int16Array(this.heard.length * 960);
    this.heard.forEach((f, i) => pcm.set(f.pcm.subarray(0, 960), i * 960));
    return findOnsets(pcm).map((o) => ({ earMs: this.heard[Math.floor(o.index / 960)]!.t + (o.index % 960) / 48, code: o.code }));
  }
}

/** Latency of each burst `from` sent that `to` heard. */
export function burstLatencies(from: ProbeSide, to: ProbeSide): BurstLatency[] {
  return matchBursts(to.onsets(), (k) => from.mouthMs(k), 150).filter((b) => Number.isFinite(b.latencyMs));
}

export interface LatencySummary {
  bursts: number;
  p50: number | null;
  p90: number | null;
}

export function summarize(latencies: readonly number[]): LatencySummary {
  return { bursts: latencies.length, p50: percentile(latencies, 50), p90: percentile(latencies, 90) };
}
