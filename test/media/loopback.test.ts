/**
 * Two media engines talking through a seeded lossy link on a virtual clock: the whole send and
 * receive path (Opus, RTP with extensions, jitter buffer, PLC/FEC, RTCP both ways) in fast,
 * deterministic runs.
 */
import { describe, expect, it } from 'vitest';
import { detectTone } from '../../src/media/goertzel.js';
import { MediaEngine, type MediaEngineOptions } from '../../src/media/media-engine.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { LossyLink, seededRandom, type LinkOptions } from './lossy-link.js';

interface RunResult {
  pcm: Int16Array;
  a: MediaEngine;
  b: MediaEngine;
  ab: LossyLink;
  maxBufferedPackets: number;
  maxQueuedInputMs: number;
  frames: number;
}

function run(seconds: number, link: Omit<LinkOptions, 'seed'>, seed: number, extra: Partial<MediaEngineOptions> = {}): RunResult {
  const a = new MediaEngine({ ssrc: 0xaaaa0001, payloadType: 111, extensionIds: { absSendTime: 2, transportWideCc: 3 }, random: seededRandom(seed), ...extra });
  const b = new MediaEngine({ ssrc: 0xbbbb0002, payloadType: 111, random: seededRandom(seed + 1), ...extra });
  const ab = new LossyLink({ seed: seed + 2, ...link });
  const ba = new LossyLink({ seed: seed + 3, ...link });
  const tone = new ToneGenerator({ frequency: 880 });
  const out: Int16Array[] = [];
  let maxBufferedPackets = 0;
  let maxQueuedInputMs = 0;
  let now = 10_000;
  a.start(now);
  b.start(now);
  const end = now + seconds * 1000;
  // Event-driven virtual time: advance to the next deadline or packet arrival, 1 ms resolution.
  for (; now < end; now += 1) {
    // The application keeps ~3 frames queued, like a real-time source would.
    while (a.queuedInputMs < 60) a.write(tone.next(960));
    for (const d of ab.deliver(now)) b.handleRtp(d.packet, d.at);
    for (const d of ba.deliver(now)) a.handleRtcp(d.packet, d.at);
    const ra = a.tick(now);
    for (const p of [...ra.rtp, ...ra.rtcp]) ab.send(p, now);
    const rb = b.tick(now);
    for (const p of [...rb.rtp, ...rb.rtcp]) ba.send(p, now);
    for (const f of rb.frames) out.push(f.pcm);
    maxBufferedPackets = Math.max(maxBufferedPackets, b.getStats().received.bufferedMs);
    maxQueuedInputMs = Math.max(maxQueuedInputMs, a.queuedInputMs);
  }
  const pcm = new Int16Array(out.length * 960);
  out.forEach((f, i) => pcm.set(f, i * 960));
  return { pcm, a, b, ab, maxBufferedPackets, maxQueuedInputMs, frames: out.length };
}

/** Tone windows from 1 s in (start-up: prefetch and first packets) to the end. */
function toneShare(pcm: Int16Array): number {
  return detectTone(pcm.subarray(48000), 880).fraction;
}

describe('media loopback (virtual clock)', () => {
  it('delivers the tone in 100 % of windows on a clean link, with RTCP RTT', () => {
    const r = run(12, { baseDelayMs: 15 }, 1);
    expect(r.frames).toBe(600);
    expect(toneShare(r.pcm)).toBe(1);
    const rs = r.b.getStats().received;
    expect(rs).toMatchObject({ lost: 0, late: 0, concealedFrames: 0, decodeErrors: 0, invalid: 0, remoteSsrc: 0xaaaa0001 });
    const as = r.a.getStats();
    expect(as.sent.packets).toBe(600);
    expect(as.rtcp.received).toBeGreaterThanOrEqual(1);
    expect(as.rtcp.rttMs).toBeGreaterThan(29);
    expect(as.rtcp.rttMs).toBeLessThan(31);
    expect(as.rtcp.remoteFractionLost).toBe(0);
    expect(as.sent.bitrateBps).toBeGreaterThan(30_000);
    expect(as.sent.bitrateBps).toBeLessThan(45_000);
  });

  it('keeps ≥ 95 % of windows at 10 % loss with 60 ms jitter (plus duplicates and reordering)', () => {
    const r = run(30, { loss: 0.1, jitterMs: 60, duplicate: 0.02, reorder: 0.02, reorderMs: 40 }, 2);
    const share = toneShare(r.pcm);
    expect(share).toBeGreaterThanOrEqual(0.95);
    const rs = r.b.getStats().received;
    expect(rs.lost).toBeGreaterThan(100);
    expect(rs.duplicated).toBeGreaterThan(0);
    expect(rs.fecMs).toBeGreaterThan(1000); // most losses were rebuilt from in-band FEC
    expect(rs.bufferDelayMs).toBeGreaterThan(50);
    expect(rs.jitterMs).toBeGreaterThan(5);
    // The sender learnt the loss from RTCP and tuned its FEC for it.
    const as = r.a.getStats();
    expect(as.rtcp.remoteFractionLost).toBeGreaterThan(0.03);
    expect(as.sent.packetLossPercent).toBeGreaterThanOrEqual(10);
  });

  it('survives 50 % loss with heavy jitter: no crash, bounded buffers, continuous output', () => {
    const r = run(30, { loss: 0.5, jitterMs: 300, duplicate: 0.1, reorder: 0.1, reorderMs: 200 }, 3);
    expect(r.frames).toBe(1500);
    const rs = r.b.getStats().received;
    expect(rs.concealedFrames).toBeGreaterThan(100);
    expect(r.maxBufferedPackets).toBeLessThan(1500); // ms of audio held, bounded by the jitter buffer's capacity
    expect(rs.bufferDelayMs).toBeLessThanOrEqual(400);
    expect(r.maxQueuedInputMs).toBeLessThanOrEqual(80);
    expect(r.ab.maxQueued).toBeLessThan(100);
    // Still mostly the tone: concealment keeps it recognisable in a good share of windows.
    expect(toneShare(r.pcm)).toBeGreaterThan(0.3);
  });

  it('keeps the stream going across mute (encoded silence) and counts it', () => {
    const a = new MediaEngine({ ssrc: 5, payloadType: 111 });
    const b = new MediaEngine({ ssrc: 6, payloadType: 111 });
    const tone = new ToneGenerator({ frequency: 880 });
    a.start(0);
    b.start(0);
    const voice: boolean[] = [];
    for (let t = 0; t < 4000; t += 20) {
      if (t === 1000) a.mute();
      if (t === 2500) a.unmute();
      a.write(tone.next(960));
      for (const p of a.tick(t).rtp) b.handleRtp(p, t + 5);
      for (const f of b.tick(t).frames) voice.push(f.voice);
    }
    const sent = a.getStats().sent;
    expect(sent.packets).toBe(200);
    expect(sent.mutedFrames).toBe(75);
    const rs = b.getStats().received;
    expect(rs.lost).toBe(0);
    expect(rs.concealedFrames).toBe(0);
    // Voice on, off while muted (after the hangover), on again.
    expect(voice[40]).toBe(true);
    expect(voice[110]).toBe(false);
    expect(voice[180]).toBe(true);
  });

  it('counts foreign payload types and SSRCs and never throws on garbage', () => {
    const b = new MediaEngine({ ssrc: 6, payloadType: 111, remoteOpusPayloadTypes: [111, 109], remoteSsrc: 77 });
    b.start(0);
    const a = new MediaEngine({ ssrc: 77, payloadType: 109 });
    a.start(0);
    const stranger = new MediaEngine({ ssrc: 78, payloadType: 111 });
    stranger.start(0);
    const cn = new MediaEngine({ ssrc: 77, payloadType: 13 });
    cn.start(0);
    const rand = seededRandom(12);
    for (let t = 0; t < 1000; t += 20) {
      for (const p of a.tick(t).rtp) b.handleRtp(p, t);
      for (const p of stranger.tick(t).rtp) b.handleRtp(p, t);
      for (const p of cn.tick(t).rtp) b.handleRtp(p, t);
      const junk = Buffer.alloc(Math.floor(rand() * 40));
      for (let i = 0; i < junk.length; i += 1) junk[i] = Math.floor(rand() * 256);
      b.handleRtp(junk, t);
      b.handleRtcp(junk, t);
      b.tick(t);
    }
    const rs = b.getStats().received;
    expect(rs.packets).toBe(50);
    // Random junk occasionally parses as RTP and lands in one of these counters too.
    expect(rs.unknownSsrc).toBeGreaterThanOrEqual(50);
    expect(rs.wrongPayloadType).toBeGreaterThanOrEqual(50);
    expect(rs.invalid).toBeGreaterThan(0);
    expect(b.getStats().rtcp.invalid).toBeGreaterThan(0);
  });
});
