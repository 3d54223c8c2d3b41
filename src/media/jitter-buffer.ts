/**
 * Adaptive jitter buffer for one RTP audio source. Pure: `push(packet, arrivalMs)` stores,
 * `pop(nowMs)` says what to play next. Time is the caller's clock in ms; media time is RTP
 * timestamp units (48 kHz for Opus), both unwrapped so sequence and timestamp wrap-around are
 * invisible to the logic.
 *
 * Playout model (pull): the caller asks for audio whenever its output needs more. The buffer
 * keeps the playout point `nextTs` and a target delay above the fastest network path:
 * - The target follows the spread of recent transit times (delay-manager.ts): it grows as soon
 *   as packets come later and falls back once a 2 s window forgets them.
 * - When the current delay is below target the buffer answers `grow` (the caller conceals a
 *   chunk without advancing). When it is above the (slower) shrink target by more than 10 ms, the next packet comes
 *   with `shrink`: how much the caller may remove by time compression (time-stretch.ts, NetEq's
 *   "accelerate", which the caller applies only where a splice is inaudible, at a bounded rate),
 *   so the delay comes back down once jitter subsides whatever the audio — NetEq does the same
 *   (its target follows the recent delay histogram, and accelerate drains the excess). When it is
 *   above by more than a packet (plus 100 ms in voice), the packet comes with `discard` (the caller
 *   decodes it to keep the decoder state but drops the audio).
 * - A packet missing at its playout time is `lost` (the caller conceals the gap, using the next
 *   packet's in-band FEC); nothing buffered at all is `empty` (conceal without advancing: the delay
 *   grows, as NetEq does). After a long silence or a large jump the stream restarts with a fresh
 *   prefetch, which also handles DTX and a muted peer that stops sending.
 * Memory is bounded by packet count and buffered duration.
 */
import { DelayManager } from './delay-manager.js';
import { Unwrapper } from './unwrapper.js';

export interface JitterPacket {
  sequenceNumber: number;
  timestamp: number;
  /** Duration in timestamp units (from the Opus TOC). */
  samples: number;
  payload: Uint8Array;
  marker?: boolean;
}

export type PushResult = 'accepted' | 'duplicate' | 'late' | 'reset';

export type PlayoutItem =
  | { kind: 'wait' }
  | { kind: 'packet'; packet: JitterPacket; discard: boolean; shrink: number }
  | { kind: 'lost'; samples: number; next: JitterPacket }
  | { kind: 'empty'; samples: number }
  | { kind: 'grow'; samples: number };

export interface JitterBufferOptions {
  clockRate?: number;
  /** Lowest target delay above the fastest path. Default 50 (tgcalls sets NetEq's minimum to 50 ms). */
  minDelayMs?: number;
  /** Highest target delay. Default 400. */
  maxDelayMs?: number;
  /** Size of the chunks `empty` and `grow` ask for, in timestamp units. Default 20 ms. */
  chunkSamples?: number;
  /** Hard cap on stored packets. Default 256. */
  maxPackets?: number;
}

export interface PopHints {
  /** Decoded samples the caller still holds ahead of the output point. */
  queuedSamples?: number;
  /** True when the last output frame was not voice: a good moment to drop audio. */
  quiet?: boolean;
}

export interface JitterBufferStats {
  accepted: number;
  duplicate: number;
  late: number;
  overflow: number;
  /** Timestamp units declared missing at playout. */
  lostSamples: number;
  /** Packets played with `discard` to shrink the delay. */
  discarded: number;
  /** Packets handed out with a `shrink` allowance. */
  shrinkOffers: number;
  /** Chunks inserted by `grow` / `empty`. */
  grown: number;
  empty: number;
  restarts: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Wanted playout delay above the fastest packet path, ms. */
  targetDelayMs: number;
  /** Playout delay above the fastest packet path when a packet was last taken, ms. */
  currentDelayMs: number;
  bufferedPackets: number;
  /** Media buffered ahead of the playout point, ms. */
  bufferedMs: number;
}

interface Stored {
  packet: JitterPacket;
  extSeq: number;
  extTs: number;
  arrivalMs: number;
}

const SEEN_WINDOW = 1024;
const GROW_HYSTERESIS_MS = 5;
const SHRINK_HYSTERESIS_MS = 15;
/** Time compression starts this far above target and stops this far above it. */
const ACCELERATE_START_MS = 10;
const ACCELERATE_STOP_MS = 5;
const SHRINK_BUSY_EXTRA_MS = 100;
const RESTART_AFTER_EMPTY_MS = 300;
/** A packet this far behind the playout point is a sender restart, not a late packet. */
const RESET_BEHIND_MS = 2000;

export class JitterBuffer {
  private readonly rate: number;
  private readonly perMs: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly chunk: number;
  private readonly maxPackets: number;
  private readonly capacitySamples: number;

  private readonly seqUnwrap = new Unwrapper(16);
  private readonly tsUnwrap = new Unwrapper(32);
  private readonly seen = new Float64Array(SEEN_WINDOW).fill(-1);
  private packets: Stored[] = [];
  private started = false;
  private nextTs = 0;
  private emptyRun = 0;

  private readonly delays: DelayManager;
  private currentDelay = 0;

  private readonly s = {
    accepted: 0,
    duplicate: 0,
    late: 0,
    overflow: 0,
    lostSamples: 0,
    discarded: 0,
    shrinkOffers: 0,
    grown: 0,
    empty: 0,
    restarts: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    this.rate = options.clockRate ?? 48000;
    this.perMs = this.rate / 1000;
    this.minDelay = Math.max(0, options.minDelayMs ?? 50);
    this.maxDelay = Math.max(this.minDelay, options.maxDelayMs ?? 400);
    this.chunk = options.chunkSamples ?? 20 * this.perMs;
    this.maxPackets = Math.max(4, options.maxPackets ?? 256);
    this.capacitySamples = Math.max(1000, 2 * this.maxDelay) * this.perMs;
    this.delays = new DelayManager(this.minDelay, this.maxDelay);
  }

  push(packet: JitterPacket, arrivalMs: number): PushResult {
    const extSeq = this.seqUnwrap.unwrap(packet.sequenceNumber);
    const slot = extSeq % SEEN_WINDOW;
    if (this.seen[slot] === extSeq) {
      this.s.duplicate += 1;
      return 'duplicate';
    }
    let extTs = this.tsUnwrap.unwrap(packet.timestamp);
    let result: PushResult = 'accepted';
    if (this.started && extTs < this.nextTs) {
      if (this.nextTs - extTs <= RESET_BEHIND_MS * this.perMs) {
        this.seen[slot] = extSeq;
        this.delays.noteArrival(extTs / this.perMs, arrivalMs); // late packets are exactly what must raise the target
        this.s.late += 1;
        return 'late';
      }
      // Far behind: the sender restarted its timestamps. Start over from this packet.
      this.packets = [];
      this.restart(true);
      this.tsUnwrap.reset();
      extTs = this.tsUnwrap.unwrap(packet.timestamp);
      result = 'reset';
    }
    // Keep one packet per timestamp, like NetEq (ntgcalls' start-up burst repeats one timestamp).
    let i = this.packets.length;
    while (i > 0 && this.packets[i - 1]!.extTs > extTs) i -= 1;
    if (i > 0 && this.packets[i - 1]!.extTs === extTs) {
      this.seen[slot] = extSeq;
      this.s.duplicate += 1;
      return 'duplicate';
    }
    this.seen[slot] = extSeq;
    this.delays.noteArrival(extTs / this.perMs, arrivalMs);
    this.packets.splice(i, 0, { packet, extSeq, extTs, arrivalMs });
    this.s.accepted += 1;
    this.enforceBounds();
    return result;
  }

  pop(nowMs: number, hints: PopHints = {}): PlayoutItem {
    this.delays.prune(nowMs);
    if (!this.started) {
      const head = this.packets[0];
      if (!head) return { kind: 'wait' };
      if (nowMs - head.extTs / this.perMs < this.delays.minTransitMs() + this.delays.targetMs()) return { kind: 'wait' };
      this.started = true;
      this.nextTs = head.extTs;
      this.emptyRun = 0;
    }

    // Drop what the playout point has already passed (overlapping timestamps).
    while (this.packets.length > 0 && this.packets[0]!.extTs < this.nextTs) {
      this.packets.shift();
      this.s.late += 1;
    }

    const head = this.packets[0];
    if (!head) {
      this.emptyRun += this.chunk;
      if (this.emptyRun >= RESTART_AFTER_EMPTY_MS * this.perMs) {
        this.restart(true);
        return { kind: 'wait' };
      }
      this.s.empty += 1;
      return { kind: 'empty', samples: this.chunk };
    }
    const emptied = this.emptyRun;
    this.emptyRun = 0;

    let gap = head.extTs - this.nextTs;
    if (gap > this.maxDelay * this.perMs) {
      // A jump longer than any concealment is useful for (DTX, a muted peer): re-prefetch.
      this.restart(true);
      return this.pop(nowMs, hints);
    }
    // Ran dry with a gap before the next packet: (part of) the dry spell was a lost packet, not a
    // late one. The concealment already played stands in for it, so the playout point moves on
    // by that much instead of the delay growing by it — NetEq's expand likewise covers the loss.
    const credit = Math.min(emptied, Math.max(0, gap));
    this.nextTs += credit;
    gap -= credit;
    const starved = emptied > credit;

    const playPos = this.nextTs - (hints.queuedSamples ?? 0);
    const delay = nowMs - playPos / this.perMs;
    const wanted = this.delays.minTransitMs() + this.delays.targetMs();
    this.currentDelay = delay - this.delays.minTransitMs();
    // Packets came late enough to run the buffer dry: the delay it grew to would have avoided that.
    if (starved) this.delays.notePeak(nowMs, this.currentDelay);
    if (delay < wanted - GROW_HYSTERESIS_MS) {
      this.s.grown += 1;
      return { kind: 'grow', samples: this.chunk };
    }

    if (gap > 0) {
      this.nextTs = head.extTs;
      this.s.lostSamples += gap;
      return { kind: 'lost', samples: gap, next: head.packet };
    }

    this.packets.shift();
    this.nextTs = head.extTs + head.packet.samples;
    // Shrinking follows a slower target than growing (delay-manager.ts): no grow/shrink cycles.
    const excess = delay - (this.delays.minTransitMs() + this.delays.shrinkTargetMs(nowMs));
    const durMs = head.packet.samples / this.perMs;
    const threshold = durMs + SHRINK_HYSTERESIS_MS + (hints.quiet === false ? SHRINK_BUSY_EXTRA_MS : 0);
    if (excess > threshold) {
      this.s.discarded += 1;
      return { kind: 'packet', packet: head.packet, discard: true, shrink: 0 };
    }
    if (excess > ACCELERATE_START_MS) {
      this.s.shrinkOffers += 1;
      return { kind: 'packet', packet: head.packet, discard: false, shrink: Math.floor((excess - ACCELERATE_STOP_MS) * this.perMs) };
    }
    return { kind: 'packet', packet: head.packet, discard: false, shrink: 0 };
  }

  /** Target delay above the fastest path, ms. */
  targetDelayMs(): number {
    return this.delays.targetMs();
  }

  getStats(): JitterBufferStats {
    const last = this.packets[this.packets.length - 1];
    const from = this.started ? this.nextTs : (this.packets[0]?.extTs ?? 0);
    const bufferedMs = last ? Math.max(0, last.extTs + last.packet.samples - from) / this.perMs : 0;
    return {
      ...this.s,
      jitterMs: this.delays.jitterMs,
      targetDelayMs: this.targetDelayMs(),
      currentDelayMs: this.started ? this.currentDelay : 0,
      bufferedPackets: this.packets.length,
      bufferedMs,
    };
  }

  /** Forgets everything (new remote source). */
  reset(): void {
    this.packets = [];
    this.restart(true);
    this.seqUnwrap.reset();
    this.tsUnwrap.reset();
    this.seen.fill(-1);
    this.delays.reset();
  }

  private restart(clearTransits: boolean): void {
    if (this.started) this.s.restarts += 1;
    this.started = false;
    this.emptyRun = 0;
    if (clearTransits) {
      // Forget the old path (a pause may have shifted every transit) but keep what is buffered.
      this.delays.clearHistory();
      for (const p of this.packets) this.delays.addTransit(p.arrivalMs, p.arrivalMs - p.extTs / this.perMs);
    }
  }

  private enforceBounds(): void {
    for (;;) {
      const first = this.packets[0];
      const last = this.packets[this.packets.length - 1];
      if (!first || !last) return;
      const from = this.started ? Math.min(this.nextTs, first.extTs) : first.extTs;
      const span = last.extTs + last.packet.samples - from;
      if (this.packets.length <= this.maxPackets && span <= this.capacitySamples) return;
      this.packets.shift();
      this.s.overflow += 1;
      if (this.started && first.extTs + first.packet.samples > this.nextTs) {
        this.nextTs = first.extTs + first.packet.samples;
      }
    }
  }
}
