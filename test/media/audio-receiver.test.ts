import { describe, expect, it } from 'vitest';
import { AudioReceiver, type ReceivedFrame } from '../../src/media/audio-receiver.js';
import { detectTone } from '../../src/media/goertzel.js';
import { defaultOpusCodec } from '../../src/media/opus-codec.js';
import type { RtpPacket } from '../../src/media/rtp.js';
import { concatSamples } from '../../src/media/pcm.js';
import { ToneGenerator } from '../../src/media/tone.js';

const codec = defaultOpusCodec();

/** A peer that sends `frameMs` Opus packets of a tone, starting at the given sequence/timestamp. */
function peerPackets(frameMs: number, count: number, o: { channels?: 1 | 2; seq0?: number; ts0?: number; freq?: number } = {}): RtpPacket[] {
  const channels = o.channels ?? 1;
  const enc = codec.createEncoder({ channels, bitrate: channels === 2 ? 64000 : 32000, frameMs, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 });
  const tone = new ToneGenerator({ frequency: o.freq ?? 880, channels });
  const out: RtpPacket[] = [];
  for (let i = 0; i < count; i += 1) {
    out.push({
      payloadType: 111,
      marker: i === 0,
      sequenceNumber: ((o.seq0 ?? 100) + i) & 0xffff,
      timestamp: ((o.ts0 ?? 5000) + i * 48 * frameMs) >>> 0,
      ssrc: 1,
      csrcs: [],
      extensions: [],
      payload: enc.encode(tone.next(48 * frameMs)),
    });
  }
  enc.close();
  return out;
}

/** Delivers packets in real time (one per frame interval) and collects the output. */
function play(receiver: AudioReceiver, packets: RtpPacket[], frameMs: number, seconds: number): Int16Array[] {
  return playFrames(receiver, packets, frameMs, seconds).map((f) => f.pcm);
}

function playFrames(receiver: AudioReceiver, packets: RtpPacket[], frameMs: number, seconds: number): ReceivedFrame[] {
  const frames: ReceivedFrame[] = [];
  let k = 0;
  for (let t = 0; t < seconds * 1000; t += 20) {
    while (k < packets.length && k * frameMs + 5 <= t) {
      receiver.push(packets[k]!, k * frameMs + 5);
      k += 1;
    }
    frames.push(receiver.pull(t));
  }
  return frames;
}


describe('audio receiver', () => {
  it.each([10, 20, 40, 60, 120])('plays %i ms packets as continuous 20 ms frames', (frameMs) => {
    const r = new AudioReceiver({ decoder: codec.createDecoder(1) });
    const packets = peerPackets(frameMs, Math.ceil(3000 / frameMs));
    const frames = play(r, packets, frameMs, 3.5);
    expect(frames.every((f) => f.length === 960)).toBe(true);
    const pcm = concatSamples(frames);
    // From the first window after start-up to the end of the stream.
    const det = detectTone(pcm.subarray(48 * 400, 48 * 3000), 880);
    expect(det.fraction).toBe(1);
    expect(r.getStats().decodeErrors).toBe(0);
    expect(r.getJitterStats().late).toBe(0);
    r.close();
  });

  it('decodes stereo packets to stereo output, and to mono output', () => {
    const packets = peerPackets(60, 40, { channels: 2, freq: 440 });
    const stereo = new AudioReceiver({ decoder: codec.createDecoder(2) });
    const s = concatSamples(play(stereo, packets, 60, 2.5));
    expect(s.length).toBe(125 * 960 * 2);
    expect(detectTone(s.subarray(2 * 48 * 400, 2 * 48 * 2200), 440, { channels: 2 }).fraction).toBe(1);
    const mono = new AudioReceiver({ decoder: codec.createDecoder(1) });
    const m = concatSamples(play(mono, packets, 60, 2.5));
    expect(detectTone(m.subarray(48 * 400, 48 * 2200), 440).fraction).toBe(1);
  });

  it('plays across sequence-number and timestamp wrap-around', () => {
    const r = new AudioReceiver({ decoder: codec.createDecoder(1) });
    const packets = peerPackets(20, 150, { seq0: 65500, ts0: 0xffffffff - 960 * 60 });
    const frames = playFrames(r, packets, 20, 3.2);
    const pcm = concatSamples(frames.map((f) => f.pcm));
    expect(detectTone(pcm.subarray(48 * 400, 48 * 3000), 880).fraction).toBe(1);
    expect(r.getJitterStats().accepted).toBe(150);
    // Nothing concealed while the stream lasts (only after its end).
    expect(frames.slice(0, 150).some((f) => f.concealed)).toBe(false);
  });

  it('conceals lost packets with FEC and PLC, and counts bad payloads', () => {
    const r = new AudioReceiver({ decoder: codec.createDecoder(1) });
    const packets = peerPackets(20, 150).filter((_, i) => i % 10 !== 5);
    packets.splice(20, 0, { ...packets[20]!, sequenceNumber: 9999, payload: Uint8Array.of((31 << 3) | 3, 0) });
    const frames: { concealed: boolean; pcm: Int16Array }[] = [];
    let k = 0;
    for (let t = 0; t < 3200; t += 20) {
      while (k < packets.length && ((packets[k]!.timestamp - 5000) / 960) * 20 + 5 <= t) {
        r.push(packets[k]!, t);
        k += 1;
      }
      frames.push(r.pull(t));
    }
    expect(r.getStats().invalidPayloads).toBe(1);
    expect(r.getStats().fecMs).toBeGreaterThanOrEqual(200);
    expect(frames.filter((f) => f.concealed).length).toBe(r.getStats().concealedFrames);
    const pcm = concatSamples(frames.map((f) => f.pcm));
    expect(detectTone(pcm.subarray(48 * 400, 48 * 3000), 880).fraction).toBeGreaterThanOrEqual(0.95);
  });

  it('outputs silence, flagged not voice, before anything arrives', () => {
    const r = new AudioReceiver({ decoder: codec.createDecoder(1) });
    for (let t = 0; t < 200; t += 20) {
      const f = r.pull(t);
      expect(f.pcm.every((v) => v === 0)).toBe(true);
      expect(f.voice).toBe(false);
      expect(f.concealed).toBe(false);
    }
  });
});
