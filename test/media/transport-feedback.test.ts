/**
 * Transport-cc feedback: the packet format checked against an independent implementation
 * (werift-rtp's TransportWideCC, both directions) and a hand-encoded packet, and the recorder's
 * reports checked against the arrivals they describe.
 */
import { describe, expect, it } from 'vitest';
import { RtcpPacketConverter, RtcpTransportLayerFeedback, TransportWideCC, RunLengthChunk, StatusVectorChunk, RecvDelta, RtcpHeader } from 'werift-rtp';
import { MediaEngine } from '../../src/media/media-engine.js';
import { parseRtcp } from '../../src/media/rtcp.js';
import { parseTransportFeedback, serializeTransportFeedback, type TransportFeedback } from '../../src/media/transport-feedback.js';
import { TransportFeedbackRecorder } from '../../src/media/transport-feedback-recorder.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { LossyLink, seededRandom } from './lossy-link.js';

/** Status symbols of a werift-parsed packet, expanded to one per sequence number. */
function weriftSymbols(fb: TransportWideCC): number[] {
  const out: number[] = [];
  for (const c of fb.packetChunks) {
    if (c instanceof RunLengthChunk) for (let i = 0; i < c.runLength; i += 1) out.push(c.packetStatus);
    else out.push(...(c as StatusVectorChunk).symbolList);
  }
  return out.slice(0, fb.packetStatusCount);
}

function sample(): TransportFeedback {
  // Runs of received and lost packets, large and negative deltas: every chunk kind appears.
  const deltas: (number | null)[] = [];
  for (let i = 0; i < 20; i += 1) deltas.push(80); // run of small deltas (20 ms)
  deltas.push(null, 3, null, 250, 0, 7, null, 1, 2, 9, null, null, 5, 4); // mixed, one-bit vector
  deltas.push(-40, 300, null, 1000, 12, 32767, -32768); // two-bit vector (large / negative)
  for (let i = 0; i < 30; i += 1) deltas.push(null); // a burst of loss: run length
  deltas.push(17);
  return { senderSsrc: 0x11223344, mediaSsrc: 0xaabbccdd, baseSequence: 65530, referenceTime: 0xabcdef, feedbackCount: 201, deltas };
}

describe('transport-cc feedback format', () => {
  it('serializes what werift-rtp parses back to the same statuses and deltas', () => {
    const fb = sample();
    const bytes = serializeTransportFeedback(fb);
    expect(bytes.length % 4).toBe(0);
    const [parsed] = RtcpPacketConverter.deSerialize(bytes);
    expect(parsed).toBeInstanceOf(RtcpTransportLayerFeedback);
    const twcc = (parsed as RtcpTransportLayerFeedback).feedback as TransportWideCC;
    expect(twcc).toMatchObject({ senderSsrc: 0x11223344, mediaSourceSsrc: 0xaabbccdd, baseSequenceNumber: 65530, packetStatusCount: fb.deltas.length, referenceTime: 0xabcdef, fbPktCount: 201 });
    const symbols = fb.deltas.map((d) => (d === null ? 0 : d >= 0 && d <= 255 ? 1 : 2));
    expect(weriftSymbols(twcc)).toEqual(symbols);
    expect(twcc.recvDeltas.map((d) => d.delta / 250)).toEqual(fb.deltas.filter((d) => d !== null));
    // And our own parser agrees.
    expect(parseTransportFeedback(bytes)).toEqual(fb);
    // A compound parser sees an RTPFB packet it does not interpret, not garbage.
    expect(parseRtcp(bytes)).toEqual({ ok: true, packets: [{ type: 'other', packetType: 205, format: 15 }] });
  });

  it('parses what werift-rtp serializes (padding included)', () => {
    const twcc = new TransportWideCC({
      senderSsrc: 7,
      mediaSourceSsrc: 8,
      baseSequenceNumber: 100,
      packetStatusCount: 5,
      referenceTime: 12,
      fbPktCount: 3,
      packetChunks: [new StatusVectorChunk({ symbolSize: 1, symbolList: [1, 0, 2, 1, 1, 0, 0] })],
      recvDeltas: [new RecvDelta({ delta: 250 * 4 }), new RecvDelta({ delta: -250 * 2 }), new RecvDelta({ delta: 250 * 1 }), new RecvDelta({ delta: 0 })],
      header: new RtcpHeader({ type: 205, count: 15, version: 2, padding: true }),
    });
    const bytes = new RtcpTransportLayerFeedback({ feedback: twcc, header: twcc.header }).serialize();
    expect(parseTransportFeedback(bytes)).toEqual({ senderSsrc: 7, mediaSsrc: 8, baseSequence: 100, referenceTime: 12, feedbackCount: 3, deltas: [4, null, -2, 1, 0] });
  });

  it('writes the bytes the draft describes, padding as libwebrtc does', () => {
    // base 1, three packets: received +1 ms after the reference, lost, received 257 ms later.
    const bytes = serializeTransportFeedback({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 1, referenceTime: 3, feedbackCount: 4, deltas: [4, null, 1028] });
    expect(bytes.toString('hex')).toBe(
      [
        'af cd 0006', // V=2, P, FMT=15 | PT=205 | length 6 (28 bytes)
        '00000001 00000002', // sender, media source
        '0001 0003', // base sequence, status count
        '000003 04', // reference time, feedback count
        'd200', // two-bit vector (T=1 S=1): 01 00 10, then unused zeros
        '04 0404', // deltas: 1 byte (1 ms), 2 bytes (257 ms)
        '00 00 03', // padding, its length in the last byte
      ]
        .join('')
        .replace(/ /g, ''),
    );
  });

  it('rejects malformed packets instead of throwing', () => {
    const good = serializeTransportFeedback(sample());
    expect(parseTransportFeedback(good.subarray(0, 16))).toBeUndefined();
    const truncated = Buffer.from(good);
    truncated.writeUInt16BE(8, 2); // claims fewer words than the chunks need
    expect(parseTransportFeedback(truncated.subarray(0, 36))).toBeUndefined();
    const zero = Buffer.from(good);
    zero.writeUInt16BE(0, 14);
    expect(parseTransportFeedback(zero)).toBeUndefined();
    expect(() => serializeTransportFeedback({ ...sample(), deltas: [40000] })).toThrow(RangeError);
  });
});

/** Arrival times a feedback packet describes, by sequence number (ms). */
function arrivalsOf(fb: TransportFeedback): Map<number, number> {
  const out = new Map<number, number>();
  let t = fb.referenceTime * 64;
  fb.deltas.forEach((d, i) => {
    if (d === null) return;
    t += d * 0.25;
    out.set((fb.baseSequence + i) & 0xffff, t);
  });
  return out;
}

describe('transport-cc feedback recorder', () => {
  it('reports every 100 ms what arrived and when (±0.125 ms), lost packets as not received, across the wrap', () => {
    const r = new TransportFeedbackRecorder({ senderSsrc: 9 });
    const rand = seededRandom(4);
    const sent = new Map<number, number>();
    const reported = new Map<number, number>();
    const feedbackTimes: number[] = [];
    let seq = 65500;
    for (let t = 0; t < 3000; t += 1) {
      if (t % 20 === 0) {
        if (rand() > 0.1) {
          const at = t + rand() * 30;
          sent.set(seq, at);
          r.onPacket(seq, 0xcafe, at);
        }
        seq = (seq + 1) & 0xffff;
      }
      for (const p of r.tick(t)) {
        feedbackTimes.push(t);
        const fb = parseTransportFeedback(p)!;
        expect(fb.senderSsrc).toBe(9);
        expect(fb.mediaSsrc).toBe(0xcafe);
        for (const [s, at] of arrivalsOf(fb)) reported.set(s, at);
      }
    }
    expect(reported.size).toBeGreaterThanOrEqual(sent.size - 6); // all but what arrived after the last feedback
    for (const [s, at] of reported) expect(Math.abs(at - sent.get(s)!)).toBeLessThanOrEqual(0.125 + 1e-9);
    const gaps = feedbackTimes.slice(1).map((t, i) => t - feedbackTimes[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(r.sent).toBeGreaterThan(25);
  });

  it('reports a late (reordered) packet in the next feedback, and counts feedback packets', () => {
    const r = new TransportFeedbackRecorder({ senderSsrc: 1, intervalMs: 100 });
    for (const s of [10, 11, 13, 14]) r.onPacket(s, 5, s * 20);
    const first = parseTransportFeedback(r.tick(300)[0]!)!;
    expect(first.baseSequence).toBe(10);
    expect(first.deltas.map((d) => d !== null)).toEqual([true, true, false, true, true]);
    r.onPacket(12, 5, 310); // arrives after it was reported missing
    r.onPacket(15, 5, 320);
    expect(r.tick(350)).toEqual([]); // not before the interval
    const second = parseTransportFeedback(r.tick(400)[0]!)!;
    expect(second.baseSequence).toBe(12);
    expect(second.deltas.map((d) => d !== null)).toEqual([true, true, true, true]);
    expect(second.feedbackCount).toBe((first.feedbackCount + 1) & 0xff);
  });

  it('splits a report whose deltas do not fit 16 bits, and keeps memory bounded over a long gap', () => {
    const r = new TransportFeedbackRecorder({ senderSsrc: 1 });
    r.onPacket(1, 5, 0);
    r.onPacket(2, 5, 9000); // 9 s later: beyond ±8.19 s of 250 µs ticks
    const packets = r.tick(9000).map((p) => parseTransportFeedback(p)!);
    expect(packets.map((p) => p.baseSequence)).toEqual([1, 2]);
    for (let s = 0; s < 100_000; s += 1) r.onPacket(s & 0xffff, 5, 10_000 + s);
    expect(r.tick(200_000).length).toBeGreaterThan(0);
    expect((r as unknown as { arrivals: Map<number, number> }).arrivals.size).toBeLessThanOrEqual(1024 + 64);
  });
});

describe('transport-cc feedback in the media engine', () => {
  it('answers the peer\'s transport-wide sequence numbers with feedback it can read, ~10 per second', () => {
    const a = new MediaEngine({ ssrc: 0xa, payloadType: 111, extensionIds: { transportWideCc: 3 }, random: seededRandom(1) });
    const b = new MediaEngine({ ssrc: 0xb, payloadType: 111, remoteExtensionIds: { transportWideCc: 3 }, random: seededRandom(2) });
    const none = new MediaEngine({ ssrc: 0xc, payloadType: 111, random: seededRandom(3) }); // not negotiated: nothing
    const link = new LossyLink({ seed: 5, loss: 0.1, baseDelayMs: 20, jitterMs: 10 });
    const tone = new ToneGenerator({ frequency: 440 });
    const feedback: TransportFeedback[] = [];
    a.start(0);
    b.start(0);
    none.start(0);
    for (let t = 0; t < 5000; t += 1) {
      while (a.queuedInputMs < 40) a.write(tone.next(960));
      for (const p of a.tick(t).rtp) link.send(p, t);
      for (const d of link.deliver(t)) {
        b.handleRtp(d.packet, d.at);
        none.handleRtp(d.packet, d.at);
      }
      for (const p of b.tick(t).rtcp) {
        const fb = parseTransportFeedback(p);
        if (fb) feedback.push(fb);
        a.handleRtcp(p, t);
      }
      for (const p of none.tick(t).rtcp) expect(parseTransportFeedback(p)).toBeUndefined();
    }
    expect(feedback.length).toBeGreaterThanOrEqual(45);
    expect(feedback.length).toBeLessThanOrEqual(51);
    expect(feedback.every((f) => f.senderSsrc === 0xb && f.mediaSsrc === 0xa)).toBe(true);
    const received = feedback.reduce((n, f) => n + f.deltas.filter((d) => d !== null).length, 0);
    // Every packet that arrived, but the last 100 ms' (not reported yet when the run stops).
    expect(received).toBeLessThanOrEqual(b.getStats().received.packets);
    expect(received).toBeGreaterThanOrEqual(b.getStats().received.packets - 6);
    expect(b.getStats().rtcp.transportFeedbackSent).toBe(feedback.length);
    expect(a.getStats().rtcp.invalid).toBe(0);
  });

  it('counts padding-only packets as padding: not invalid, not lost', () => {
    const b = new MediaEngine({ ssrc: 0xb, payloadType: 111, remoteSsrc: 0x77 });
    b.start(0);
    const a = new MediaEngine({ ssrc: 0x77, payloadType: 111, initialSequence: 100 });
    a.start(0);
    let seq = 100;
    for (let t = 0; t < 400; t += 20) {
      for (const p of a.tick(t).rtp) {
        b.handleRtp(p, t + 5);
        seq += 1;
      }
    }
    // A padding-only packet as libwebrtc probes with: P bit, no payload, the padding length last.
    const probe = Buffer.alloc(12 + 200);
    probe[0] = 0xa0;
    probe[1] = 111;
    probe.writeUInt16BE(seq & 0xffff, 2);
    probe.writeUInt32BE(0x77, 8);
    probe[probe.length - 1] = 200;
    b.handleRtp(probe, 405);
    // The audio packet after it has the next sequence number: the probe must not look like a loss.
    const a2 = new MediaEngine({ ssrc: 0x77, payloadType: 111, initialSequence: seq + 1 });
    a2.start(420);
    for (const p of a2.tick(420).rtp) b.handleRtp(p, 425);
    const rs = b.getStats().received;
    expect(rs).toMatchObject({ padding: 1, invalid: 0, lost: 0 });
  });
});
