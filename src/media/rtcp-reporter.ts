/**
 * When to send RTCP and what the peer's RTCP says, sans-I/O. Reports go out every ~5 s, each
 * interval drawn from [0.5, 1.5] × 5 s (RFC 3550 §6.3.1 randomisation), the first one after half
 * an interval. Each is a compound SR (or RR when we have sent nothing) + SDES CNAME. Incoming
 * SRs give the LSR/DLSR we echo; incoming report blocks about our SSRC give the round-trip time
 * (RFC 3550 §6.4.1: A − LSR − DLSR) and the loss the peer sees.
 */
import {
  compactNtpFromUnixMs,
  ntpFromUnixMs,
  ntpMiddle32,
  parseRtcp,
  serializeRtcp,
  type ReportBlock,
  type RtcpPacket,
} from './rtcp.js';
import type { ReceptionStats } from './reception-stats.js';

export interface RtcpReporterOptions {
  ssrc: number;
  cname: string;
  intervalMs?: number;
  /** Uniform [0, 1) source for the interval randomisation. */
  random?: () => number;
}

export interface SenderInfo {
  packetCount: number;
  octetCount: number;
  rtpTimestamp: number;
}

export interface RemoteReception {
  /** The peer's view of our stream. */
  block: ReportBlock;
  rttMs: number | undefined;
}

export interface RtcpHandleResult {
  ok: boolean;
  senderReports: number;
  /** Report blocks about our SSRC. */
  reports: RemoteReception[];
  bye: boolean;
}

export class RtcpReporter {
  private readonly ssrc: number;
  private readonly cname: string;
  private readonly intervalMs: number;
  private readonly random: () => number;
  private deadline = Infinity;
  /** Last SR from each remote source: compact NTP and when it arrived. */
  private readonly lastSr = new Map<number, { lsr: number; atMs: number }>();
  private latestRtt: number | undefined;
  sent = 0;
  received = 0;
  invalid = 0;

  constructor(o: RtcpReporterOptions) {
    this.ssrc = o.ssrc >>> 0;
    this.cname = o.cname;
    this.intervalMs = o.intervalMs ?? 5000;
    this.random = o.random ?? Math.random;
  }

  start(nowMs: number): void {
    this.deadline = nowMs + this.nextInterval() / 2;
  }

  get nextDeadline(): number {
    return this.deadline;
  }

  get rttMs(): number | undefined {
    return this.latestRtt;
  }

  private nextInterval(): number {
    return this.intervalMs * (0.5 + this.random());
  }

  /** The compound report due at `nowMs`, or undefined when none is due. */
  tick(nowMs: number, sender: SenderInfo | undefined, remote: { ssrc: number; stats: ReceptionStats } | undefined): Buffer | undefined {
    if (nowMs < this.deadline) return undefined;
    this.deadline = nowMs + this.nextInterval();
    return this.build(nowMs, sender, remote);
  }

  /** Builds a report now (also used for a final report before BYE). */
  build(nowMs: number, sender: SenderInfo | undefined, remote: { ssrc: number; stats: ReceptionStats } | undefined): Buffer {
    const reports: ReportBlock[] = [];
    if (remote && remote.stats.hasData) {
      const sr = this.lastSr.get(remote.ssrc);
      const dlsr = sr ? Math.max(0, Math.round(((nowMs - sr.atMs) * 65536) / 1000)) : 0;
      reports.push(remote.stats.reportBlock(remote.ssrc, sr?.lsr ?? 0, dlsr));
    }
    const packets: RtcpPacket[] = [];
    if (sender && sender.packetCount > 0) {
      packets.push({
        type: 'sr',
        ssrc: this.ssrc,
        ntpTime: ntpFromUnixMs(nowMs),
        rtpTimestamp: sender.rtpTimestamp,
        packetCount: sender.packetCount,
        octetCount: sender.octetCount,
        reports,
      });
    } else {
      packets.push({ type: 'rr', ssrc: this.ssrc, reports });
    }
    packets.push({ type: 'sdes', chunks: [{ ssrc: this.ssrc, cname: this.cname }] });
    this.sent += 1;
    return serializeRtcp(packets);
  }

  /** A BYE for our SSRC, preceded by a final report. */
  goodbye(nowMs: number, sender: SenderInfo | undefined, remote: { ssrc: number; stats: ReceptionStats } | undefined): Buffer {
    const report = this.build(nowMs, sender, remote);
    return Buffer.concat([report, serializeRtcp([{ type: 'bye', ssrcs: [this.ssrc] }])]);
  }

  handle(buf: Uint8Array, nowMs: number): RtcpHandleResult {
    const parsed = parseRtcp(buf);
    const result: RtcpHandleResult = { ok: parsed.ok, senderReports: 0, reports: [], bye: false };
    if (!parsed.ok) {
      this.invalid += 1;
      return result;
    }
    this.received += 1;
    for (const p of parsed.packets) {
      if (p.type === 'sr') {
        result.senderReports += 1;
        this.lastSr.set(p.ssrc, { lsr: ntpMiddle32(p.ntpTime), atMs: nowMs });
        if (this.lastSr.size > 16) this.lastSr.delete(this.lastSr.keys().next().value!);
      }
      if (p.type === 'sr' || p.type === 'rr') {
        for (const block of p.reports) {
          if (block.ssrc !== this.ssrc) continue;
          const rtt = this.rttFrom(block, nowMs);
          if (rtt !== undefined) this.latestRtt = rtt;
          result.reports.push({ block, rttMs: rtt });
        }
      }
      if (p.type === 'bye') result.bye = true;
    }
    return result;
  }

  private rttFrom(block: ReportBlock, nowMs: number): number | undefined {
    if (block.lastSenderReport === 0) return undefined;
    const a = compactNtpFromUnixMs(nowMs);
    const rtt = (a - block.lastSenderReport - block.delaySinceLastSenderReport) >>> 0;
    const ms = (rtt * 1000) / 65536;
    // A wrapped (negative) or absurd value means the peer's clock math is off: ignore it.
    return ms < 60_000 ? ms : undefined;
  }
}
