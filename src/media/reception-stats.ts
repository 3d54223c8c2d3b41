/**
 * Per-source reception statistics for RTCP report blocks (RFC 3550 §6.4.1, appendix A.1, A.3,
 * A.8): extended highest sequence number, cumulative and interval loss, interarrival jitter.
 */
import type { ReportBlock } from './rtcp.js';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 65536;

export class ReceptionStats {
  private initialized = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = SEQ_MOD + 1; // "impossible" until a jump is seen
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastArrivalMs = 0;
  private lastTimestamp = 0;
  private jitterUnits = 0;

  constructor(private readonly clockRate = 48000) {}

  /**
   * Counts one packet. Returns false when it was held back as a possible restart (A.1). Padding
   * passes `updateJitter` false: it repeats the last timestamp, so it says nothing about jitter.
   */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number, updateJitter = true): boolean {
    if (!this.initialized) {
      this.restart(seq);
      this.initialized = true;
    } else {
      const udelta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
      if (udelta < MAX_DROPOUT) {
        if (seq < this.maxSeq) this.cycles += SEQ_MOD; // wrapped
        this.maxSeq = seq;
      } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
        // A very large jump: the sender restarted unless this is a stray. Two in a row = restart.
        if (seq === this.badSeq) {
          this.restart(seq);
        } else {
          this.badSeq = (seq + 1) % SEQ_MOD;
          return false;
        }
      }
      // else: duplicate or reordered packet, counted below
    }
    this.received += 1;
    if (updateJitter) this.updateJitter(rtpTimestamp, arrivalMs);
    return true;
  }

  private restart(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = SEQ_MOD + 1;
    this.received = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.lastArrivalMs = Number.NaN;
  }

  private updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    if (!Number.isNaN(this.lastArrivalMs) && this.received > 1) {
      const tsDelta = ((rtpTimestamp - this.lastTimestamp + 2 ** 31) >>> 0) - 2 ** 31; // signed 32-bit
      const d = ((arrivalMs - this.lastArrivalMs) * this.clockRate) / 1000 - tsDelta;
      this.jitterUnits += (Math.abs(d) - this.jitterUnits) / 16;
    }
    this.lastArrivalMs = arrivalMs;
    this.lastTimestamp = rtpTimestamp;
  }

  get packetsReceived(): number {
    return this.received;
  }

  get extendedHighestSequence(): number {
    return this.cycles + this.maxSeq;
  }

  get expected(): number {
    return this.initialized ? this.extendedHighestSequence - this.baseSeq + 1 : 0;
  }

  /** Expected minus received; negative when duplicates outnumber losses (RFC 3550 A.3). */
  get cumulativeLost(): number {
    return this.expected - this.received;
  }

  /** Interarrival jitter in timestamp units. */
  get jitter(): number {
    return this.jitterUnits;
  }

  get jitterMs(): number {
    return (this.jitterUnits * 1000) / this.clockRate;
  }

  get hasData(): boolean {
    return this.initialized;
  }

  /** A report block for `ssrc`; advances the interval used for the fraction lost. */
  reportBlock(ssrc: number, lastSenderReport = 0, delaySinceLastSenderReport = 0): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    return {
      ssrc,
      fractionLost,
      cumulativeLost: this.cumulativeLost,
      highestSequence: this.extendedHighestSequence >>> 0,
      jitter: Math.floor(this.jitterUnits) >>> 0,
      lastSenderReport,
      delaySinceLastSenderReport,
    };
  }
}
