/**
 * One-way latency of the media path on a virtual clock: a microphone-like source feeds engine A
 * one 20 ms frame each time one is complete, A's packets cross a seeded link to engine B, and
 * burst onsets in B's output give mouth-to-ear latency per burst (test/helpers/tone-bursts.ts).
 *
 * Event-loop stalls are modelled per process: while a side is stalled nothing of it runs (no
 * ticks, no packet handling, no source writes). At the end of a stall the pending work runs in
 * Node's order: the frame timer first (timers phase), then received packets and the source's
 * backlog (poll phase) — the order that leaves a live source's backlog in the queue.
 */
import { MediaEngine, type MediaEngineOptions } from '../../src/media/media-engine.js';
import { BurstSignal, findOnsets, matchBursts, type BurstLatency } from '../helpers/tone-bursts.js';
import { LossyLink, seededRandom, type LinkOptions } from './lossy-link.js';

export interface Stall {
  side: 'sender' | 'receiver' | 'both';
  atMs: number;
  ms: number;
}

export interface LatencyScenario {
  seconds: number;
  link?: Omit<LinkOptions, 'seed'>;
  seed?: number;
  stalls?: Stall[];
  /** Network hiccups: packets sent in [atMs, atMs + ms) leave together at the end (a gap, then a burst). */
  holds?: { atMs: number; ms: number }[];
  /** How the source hands audio to engine A. Default: live writes. */
  write?: (a: MediaEngine, pcm: Int16Array) => void;
  sender?: Partial<MediaEngineOptions>;
  receiver?: Partial<MediaEngineOptions>;
  /** Called every ms after the engines ran (for sampling stats). */
  onMs?: (t: number, a: MediaEngine, b: MediaEngine) => void;
}

export interface LatencyRun {
  bursts: BurstLatency[];
  a: MediaEngine;
  b: MediaEngine;
}

const START = 10_000;

export function runLatency(s: LatencyScenario): LatencyRun {
  const seed = s.seed ?? 1;
  const a = new MediaEngine({ ssrc: 0xaaaa0001, payloadType: 111, random: seededRandom(seed), ...s.sender });
  const b = new MediaEngine({ ssrc: 0xbbbb0002, payloadType: 111, random: seededRandom(seed + 1), ...s.receiver });
  const ab = new LossyLink({ seed: seed + 2, baseDelayMs: 20, ...s.link });
  const write = s.write ?? ((e, pcm) => e.write(pcm, 'live'));
  const signal = new BurstSignal();
  const stalled = (side: 'sender' | 'receiver', t: number): boolean =>
    (s.stalls ?? []).some((x) => (x.side === side || x.side === 'both') && t >= x.atMs + START && t < x.atMs + START + x.ms);

  const out: { t: number; pcm: Int16Array }[] = [];
  const inFlight: { at: number; packet: Buffer }[] = [];
  let micFrames = 0; // frames the microphone has completed
  a.start(START);
  b.start(START);
  const end = START + s.seconds * 1000;
  for (let t = START; t < end; t += 1) {
    // Frame k is complete at START + (k + 1) × 20: its mouth time is START + k × 20.
    const due = Math.floor((t - START) / 20);
    const senderUp = !stalled('sender', t);
    const receiverUp = !stalled('receiver', t);
    if (senderUp) {
      const hold = (s.holds ?? []).find((h) => t >= h.atMs + START && t < h.atMs + START + h.ms);
      const leaveAt = hold ? hold.atMs + START + hold.ms : t;
      for (const p of a.tick(t).rtp) ab.send(p, leaveAt);
      while (micFrames < due) {
        write(a, signal.next(960));
        micFrames += 1;
      }
    }
    inFlight.push(...ab.deliver(t));
    if (receiverUp) {
      // Timers first (output frames), then the packets that waited in the socket.
      for (const f of b.tick(t).frames) out.push({ t: f.timestamp, pcm: f.pcm });
      for (const d of inFlight.splice(0)) b.handleRtp(d.packet, Math.max(d.at, t));
    }
    s.onMs?.(t, a, b);
  }

  const pcm = new Int16Array(out.length * 960);
  out.forEach((f, i) => pcm.set(f.pcm, i * 960));
  // Frames are contiguous in time except after a receiver stall (skipped frames): map each sample
  // back to its own frame's timestamp.
  const onsets = findOnsets(pcm).map((o) => {
    const frame = out[Math.floor(o.index / 960)]!;
    return { earMs: frame.t + (o.index % 960) / 48, code: o.code };
  });
  return { bursts: matchBursts(onsets, (k) => START + k * 500, 60), a, b };
}

/** Latency of the bursts whose mouth time falls in [fromMs, toMs) after the start. */
export function latencies(run: LatencyRun, fromMs: number, toMs: number): number[] {
  return run.bursts.filter((x) => x.mouthMs - START >= fromMs && x.mouthMs - START < toMs).map((x) => x.latencyMs);
}

export const median = (v: readonly number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
