/**
 * When to send transport-cc feedback and what it says, sans-I/O: the receive side of
 * transport-wide congestion control. Every packet of the peer carrying the transport-wide
 * sequence number extension is noted with its arrival time; every `intervalMs` (100 ms, the
 * default period of libwebrtc's RemoteEstimatorProxy, which official clients run) the packets
 * noted since the last feedback go out as one RTCP transport-cc packet (transport-feedback.ts),
 * with the ones missing in between reported as not received. A packet that arrives after its
 * sequence number was reported (reordering) makes the next feedback start from it again, as
 * libwebrtc does, so the sender learns it arrived after all. Memory is bounded: arrival times
 * are kept for the last HISTORY sequence numbers.
 */
import { serializeTransportFeedback, DELTA_TICK_MS, REFERENCE_TICK_MS } from './transport-feedback.js';
import { Unwrapper } from './unwrapper.js';

export interface TransportFeedbackRecorderOptions {
  /** Our SSRC (the feedback's packet sender). */
  senderSsrc: number;
  /** Default 100 ms. */
  intervalMs?: number;
}

const HISTORY = 1024;
/** Packets per feedback packet at most (≈ 1 KB of RTCP even with 2-byte deltas). */
const MAX_PER_FEEDBACK = 400;

export class TransportFeedbackRecorder {
  private readonly senderSsrc: number;
  private readonly intervalMs: number;
  private readonly unwrap = new Unwrapper(16);
  private readonly arrivals = new Map<number, number>();
  private mediaSsrc = 0;
  /** First sequence number (unwrapped) not reported yet. */
  private windowStart: number | undefined;
  private maxSeq = -Infinity;
  private count = 0;
  private lastSentAt = -Infinity;
  private deadline = Infinity;
  /** Feedback packets built. */
  sent = 0;

  constructor(o: TransportFeedbackRecorderOptions) {
    this.senderSsrc = o.senderSsrc >>> 0;
    this.intervalMs = o.intervalMs ?? 100;
  }

  get nextDeadline(): number {
    return this.deadline;
  }

  /** Notes one arrival (a duplicate is ignored). */
  onPacket(transportSequence: number, mediaSsrc: number, arrivalMs: number): void {
    const seq = this.unwrap.unwrap(transportSequence & 0xffff);
    if (this.arrivals.has(seq) || seq <= this.maxSeq - HISTORY) return;
    this.arrivals.set(seq, arrivalMs);
    this.mediaSsrc = mediaSsrc >>> 0;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (this.windowStart === undefined || seq < this.windowStart) this.windowStart = seq;
    if (!Number.isFinite(this.deadline)) this.deadline = Math.max(arrivalMs, this.lastSentAt + this.intervalMs);
    // Forget what is too old to be reported again (a full pass every 64 packets).
    if (this.arrivals.size > HISTORY + 64) {
      for (const s of this.arrivals.keys()) if (s <= this.maxSeq - HISTORY) this.arrivals.delete(s);
    }
  }

  /** The feedback due at `nowMs` (usually one packet, none when nothing is due). */
  tick(nowMs: number): Buffer[] {
    if (nowMs < this.deadline || this.windowStart === undefined) return [];
    const out: Buffer[] = [];
    let seq = Math.max(this.windowStart, this.maxSeq - HISTORY + 1);
    while (seq <= this.maxSeq) {
      const built = this.build(seq);
      if (!built) break;
      out.push(built.packet);
      seq = built.next;
    }
    this.windowStart = undefined;
    this.lastSentAt = nowMs;
    this.deadline = Infinity;
    return out;
  }

  /** One feedback packet from `from` on, and where the next one starts. */
  private build(from: number): { packet: Buffer; next: number } | undefined {
    let first = from;
    while (first <= this.maxSeq && !this.arrivals.has(first)) first += 1;
    if (first > this.maxSeq) return undefined;
    // The reference time is the first arrival, rounded down to 64 ms; deltas follow libwebrtc's
    // chain of rounded ticks, so rounding never accumulates.
    const reference = Math.floor(this.arrivals.get(first)! / REFERENCE_TICK_MS);
    let last = reference * REFERENCE_TICK_MS;
    const deltas: (number | null)[] = [];
    let seq = from;
    for (; seq <= this.maxSeq && deltas.length < MAX_PER_FEEDBACK; seq += 1) {
      const at = this.arrivals.get(seq);
      if (at === undefined) {
        deltas.push(null);
        continue;
      }
      const ticks = Math.round((at - last) / DELTA_TICK_MS);
      if (ticks < -0x8000 || ticks > 0x7fff) break; // does not fit: the next packet starts here
      deltas.push(ticks);
      last += ticks * DELTA_TICK_MS;
    }
    // Trailing not-received entries carry nothing: the next feedback covers them.
    while (deltas.length > 0 && deltas[deltas.length - 1] === null) {
      deltas.pop();
      seq -= 1;
    }
    const packet = serializeTransportFeedback({
      senderSsrc: this.senderSsrc,
      mediaSsrc: this.mediaSsrc,
      baseSequence: from & 0xffff,
      referenceTime: reference & 0xffffff,
      feedbackCount: this.count,
      deltas,
    });
    this.count = (this.count + 1) & 0xff;
    this.sent += 1;
    return { packet, next: seq };
  }
}
