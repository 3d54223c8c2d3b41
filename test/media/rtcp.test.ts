import { describe, expect, it } from 'vitest';
import { ReceptionStats } from '../../src/media/reception-stats.js';
import { RtcpReporter } from '../../src/media/rtcp-reporter.js';
import {
  compactNtpFromUnixMs,
  ntpFromUnixMs,
  ntpMiddle32,
  parseRtcp,
  serializeRtcp,
  type ReportBlock,
  type RtcpPacket,
} from '../../src/media/rtcp.js';
import { seededRandom } from './lossy-link.js';

const block: ReportBlock = {
  ssrc: 0x01020304,
  fractionLost: 25,
  cumulativeLost: -3,
  highestSequence: 0x0001fffe,
  jitter: 480,
  lastSenderReport: 0xaabbccdd,
  delaySinceLastSenderReport: 65536,
};

describe('rtcp', () => {
  it('round-trips a compound SR + RR + SDES + BYE', () => {
    const packets: RtcpPacket[] = [
      { type: 'sr', ssrc: 1, ntpTime: ntpFromUnixMs(1_700_000_000_123), rtpTimestamp: 0xfffffff0, packetCount: 500, octetCount: 40_000, reports: [block] },
      { type: 'rr', ssrc: 2, reports: [block, { ...block, ssrc: 9, cumulativeLost: 0x7fffff }] },
      { type: 'sdes', chunks: [{ ssrc: 1, cname: 'tgcall-é' }] },
      { type: 'bye', ssrcs: [1] },
    ];
    const buf = serializeRtcp(packets);
    expect(buf.length % 4).toBe(0);
    expect(buf[1]).toBe(200);
    const r = parseRtcp(buf);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packets).toEqual(packets);
  });

  it('keeps unknown packet types (transport-cc feedback) as other', () => {
    const twcc = Buffer.from([0x8f, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    const buf = Buffer.concat([serializeRtcp([{ type: 'rr', ssrc: 5, reports: [] }]), twcc]);
    const r = parseRtcp(buf);
    expect(r.ok && r.packets).toEqual([
      { type: 'rr', ssrc: 5, reports: [] },
      { type: 'other', packetType: 205, format: 15 },
    ]);
  });

  it('rejects malformed compounds', () => {
    expect(parseRtcp(new Uint8Array(2)).ok).toBe(false);
    const sr = serializeRtcp([{ type: 'sr', ssrc: 1, ntpTime: 0n, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [block] }]);
    expect(parseRtcp(sr.subarray(0, sr.length - 4)).ok).toBe(false); // truncated
    const lying = Buffer.from(sr);
    lying[0] = 0x80 | 3; // claims three report blocks
    expect(parseRtcp(lying).ok).toBe(false);
    const rand = seededRandom(3);
    for (let i = 0; i < 5000; i += 1) {
      const b = new Uint8Array(Math.floor(rand() * 80));
      for (let j = 0; j < b.length; j += 1) b[j] = Math.floor(rand() * 256);
      if (b.length > 0) b[0] = 0x80 | (b[0]! & 0x3f);
      expect(() => parseRtcp(b)).not.toThrow();
    }
  });

  it('converts Unix ms to NTP', () => {
    const ntp = ntpFromUnixMs(0);
    expect(ntp >> 32n).toBe(2208988800n);
    expect(ntp & 0xffffffffn).toBe(0n);
    expect(ntpFromUnixMs(500) & 0xffffffffn).toBe(0x80000000n);
    expect(ntpMiddle32(ntpFromUnixMs(1500))).toBe(compactNtpFromUnixMs(1500));
    expect((compactNtpFromUnixMs(2000) - compactNtpFromUnixMs(1000)) >>> 0).toBe(65536);
  });

  it('two reporters measure the round-trip time from LSR/DLSR', () => {
    const a = new RtcpReporter({ ssrc: 1, cname: 'a', random: () => 0.5 });
    const b = new RtcpReporter({ ssrc: 2, cname: 'b', random: () => 0.5 });
    const bStats = new ReceptionStats();
    for (let i = 0; i < 100; i += 1) bStats.onPacket(i, i * 960, 1000 + i * 20);
    a.start(0);
    b.start(0);
    expect(a.nextDeadline).toBe(2500); // half of the (0.5 + 0.5) × 5 s interval
    const oneWay = 35;
    // A sends an SR at t=10 000; B receives it, answers 200 ms later with an RR; A receives it.
    const sr = a.tick(10_000, { packetCount: 100, octetCount: 8000, rtpTimestamp: 1 }, undefined)!;
    b.handle(sr, 10_000 + oneWay);
    const rr = b.build(10_000 + oneWay + 200, undefined, { ssrc: 1, stats: bStats });
    const res = a.handle(rr, 10_000 + oneWay + 200 + oneWay);
    expect(res.reports).toHaveLength(1);
    expect(res.reports[0]!.rttMs).toBeCloseTo(2 * oneWay, 0);
    expect(a.rttMs).toBeCloseTo(70, 0);
    expect(a.nextDeadline).toBe(15_000);
    expect(parseRtcp(rr).ok && parseRtcp(rr)).toMatchObject({ packets: [{ type: 'rr', ssrc: 2 }, { type: 'sdes' }] });
  });

  it('randomises the report interval within [0.5, 1.5] × 5 s', () => {
    const rand = seededRandom(11);
    const r = new RtcpReporter({ ssrc: 1, cname: 'x', random: rand });
    r.start(0);
    let t = r.nextDeadline;
    expect(t).toBeGreaterThanOrEqual(1250);
    expect(t).toBeLessThan(3750);
    const gaps = new Set<number>();
    for (let i = 0; i < 50; i += 1) {
      r.tick(t, undefined, undefined);
      const gap = r.nextDeadline - t;
      expect(gap).toBeGreaterThanOrEqual(2500);
      expect(gap).toBeLessThan(7500);
      gaps.add(Math.round(gap));
      t = r.nextDeadline;
    }
    expect(gaps.size).toBeGreaterThan(40);
  });
});

describe('reception stats (RFC 3550 A.1, A.3, A.8)', () => {
  it('extends sequence numbers across the wrap and counts loss', () => {
    const s = new ReceptionStats();
    let seq = 65530;
    let arrival = 0;
    for (let i = 0; i < 20; i += 1) {
      if (i !== 8 && i !== 9) s.onPacket(seq & 0xffff, i * 960, arrival);
      seq += 1;
      arrival += 20;
    }
    expect(s.extendedHighestSequence).toBe(65536 + ((65530 + 19) & 0xffff));
    expect(s.cumulativeLost).toBe(2);
    const b = s.reportBlock(77);
    expect(b.fractionLost).toBe(Math.floor((2 * 256) / 20));
    expect(b.highestSequence).toBe(65536 + 13);
    // Next interval: no loss.
    for (let i = 20; i < 30; i += 1) s.onPacket((65530 + i) & 0xffff, i * 960, i * 20);
    expect(s.reportBlock(77).fractionLost).toBe(0);
  });

  it('computes interarrival jitter in timestamp units', () => {
    const steady = new ReceptionStats();
    for (let i = 0; i < 200; i += 1) steady.onPacket(i, i * 960, 5 + i * 20);
    expect(steady.jitter).toBeCloseTo(0, 6);
    const jittery = new ReceptionStats();
    // Alternate 0 / 10 ms extra delay: |D| = 10 ms = 480 units each packet → J converges to 480.
    for (let i = 0; i < 400; i += 1) jittery.onPacket(i, i * 960, i * 20 + (i % 2) * 10);
    expect(jittery.jitter).toBeGreaterThan(470);
    expect(jittery.jitter).toBeLessThan(490);
    expect(jittery.jitterMs).toBeCloseTo(10, 0);
  });

  it('treats a big jump as a restart only when confirmed by the next packet', () => {
    const s = new ReceptionStats();
    for (let i = 0; i < 10; i += 1) s.onPacket(i, i * 960, i * 20);
    expect(s.onPacket(30_000, 0, 200)).toBe(false);
    expect(s.onPacket(30_001, 960, 220)).toBe(true);
    expect(s.packetsReceived).toBe(1);
    expect(s.extendedHighestSequence).toBe(30_001);
  });
});
