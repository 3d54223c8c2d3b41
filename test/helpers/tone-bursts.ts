/**
 * Mouth-to-ear latency probes: a quiet continuous tone (so a voice detector always says "voice",
 * the hard case for a jitter buffer that may only shrink in pauses) with a loud burst every
 * `periodMs`. Burst k starts at sample k × period and carries one of a few frequencies (k mod
 * the count) so that a receiver can tell which burst it heard even when some were lost or the
 * latency exceeds the period. The same signal is produced by the ntgcalls peer
 * (ntgcalls_peer.py `BurstSignal`): keep the constants in step.
 *
 * Latency of burst k = ear time of its detected onset − mouth time of its first sample.
 */
import { goertzelPower } from '../../src/media/goertzel.js';

export const BURST_PERIOD_MS = 500;
export const BURST_MS = 100;
export const BURST_FREQS = [600, 750, 900, 1050, 1200] as const;
const BASE_HZ = 440;
const BASE_AMPLITUDE = 0.05;
const BURST_AMPLITUDE = 0.5;
/** Onset: the first sample louder than this after a stretch of base tone only. */
const ONSET_LEVEL = 0.25 * 32767;
const QUIET_BEFORE_MS = 150;
const RATE = 48000;

/** The probe signal, mono s16 at 48 kHz, phase-continuous across `next()` calls. */
export class BurstSignal {
  private n = 0;
  private basePhase = 0;
  private burstPhase = 0;

  /** Samples produced so far: sample i has mouth time start + i / 48 ms. */
  get position(): number {
    return this.n;
  }

  next(count: number): Int16Array {
    const out = new Int16Array(count);
    const period = (BURST_PERIOD_MS * RATE) / 1000;
    const burst = (BURST_MS * RATE) / 1000;
    for (let i = 0; i < count; i += 1, this.n += 1) {
      const k = Math.floor(this.n / period);
      const inBurst = this.n - k * period < burst;
      this.basePhase += (2 * Math.PI * BASE_HZ) / RATE;
      let v = BASE_AMPLITUDE * Math.sin(this.basePhase);
      if (inBurst) {
        this.burstPhase += (2 * Math.PI * BURST_FREQS[k % BURST_FREQS.length]!) / RATE;
        v = BURST_AMPLITUDE * Math.sin(this.burstPhase);
      } else {
        this.burstPhase = 0;
      }
      out[i] = Math.round(v * 32767);
    }
    if (this.basePhase > 1e6) this.basePhase %= 2 * Math.PI;
    return out;
  }
}

export interface Onset {
  /** Sample index in the analysed PCM. */
  index: number;
  /** Which of BURST_FREQS the burst carries (k mod BURST_FREQS.length). */
  code: number;
}

/** Burst onsets in received mono PCM (48 kHz). */
export function findOnsets(pcm: Int16Array): Onset[] {
  const out: Onset[] = [];
  const quietNeeded = (QUIET_BEFORE_MS * RATE) / 1000;
  const window = (40 * RATE) / 1000;
  let quiet = 0;
  for (let i = 0; i < pcm.length; i += 1) {
    if (Math.abs(pcm[i]!) < ONSET_LEVEL) {
      quiet += 1;
      continue;
    }
    if (quiet >= quietNeeded && i + 5 * 48 + window <= pcm.length) {
      let best = 0;
      let bestPower = -1;
      BURST_FREQS.forEach((f, c) => {
        const p = goertzelPower(pcm, f, RATE, i + 5 * 48, window);
        if (p > bestPower) {
          bestPower = p;
          best = c;
        }
      });
      out.push({ index: i, code: best });
    }
    quiet = 0;
  }
  return out;
}

export interface BurstLatency {
  /** Burst number (its first sample is at k × period in the signal). */
  k: number;
  mouthMs: number;
  earMs: number;
  latencyMs: number;
}

/**
 * Pairs heard onsets with the bursts sent. `mouthMs(k)` is when burst k's first sample entered
 * the sender; `earMs` of each onset is when it was played out. Each onset is given the burst with
 * its code whose mouth time is nearest to `earMs − expectedLatencyMs` (updated as we go), so a
 * lost burst or a latency step of up to ± period × codes / 2 is resolved correctly.
 */
export function matchBursts(onsets: readonly { earMs: number; code: number }[], mouthMs: (k: number) => number, initialLatencyMs = 100): BurstLatency[] {
  const out: BurstLatency[] = [];
  const codes = BURST_FREQS.length;
  let expected = initialLatencyMs;
  let lastK = -1;
  for (const o of onsets) {
    const estimate = o.earMs - expected;
    // k ≡ code (mod codes), nearest to the estimate.
    const approx = Math.round((estimate - mouthMs(0)) / BURST_PERIOD_MS);
    let k = approx - ((((approx - o.code) % codes) + codes) % codes);
    if (Math.abs(mouthMs(k + codes) - estimate) < Math.abs(mouthMs(k) - estimate)) k += codes;
    if (k < 0 || k <= lastK) continue;
    const latency = o.earMs - mouthMs(k);
    if (!(latency >= 0)) continue; // before its burst was sent, or a burst never sent (NaN)
    out.push({ k, mouthMs: mouthMs(k), earMs: o.earMs, latencyMs: latency });
    expected = latency;
    lastK = k;
  }
  return out;
}

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
