import { describe, expect, it } from 'vitest';
import { MediaError } from '../../src/errors.js';
import { defaultOpusCodec, type OpusCodec, type OpusEncoderOptions } from '../../src/media/opus-codec.js';
import { opusPacketInfo, opusPacketSamples } from '../../src/media/opus-packet.js';
import { toneRatio } from '../../src/media/goertzel.js';
import { concatSamples } from '../../src/media/pcm.js';
import { ToneGenerator } from '../../src/media/tone.js';

const base: OpusEncoderOptions = { channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 };

function encodeTone(codec: OpusCodec, o: Partial<OpusEncoderOptions>, frames: number, freq = 880): Uint8Array[] {
  const opts = { ...base, ...o };
  const enc = codec.createEncoder(opts);
  const tone = new ToneGenerator({ frequency: freq, channels: opts.channels });
  const out: Uint8Array[] = [];
  for (let i = 0; i < frames; i += 1) out.push(enc.encode(tone.next(48 * opts.frameMs)));
  enc.close();
  return out;
}


describe('opus packet TOC (RFC 6716 §3.1)', () => {
  it('sizes every configuration and frame count code', () => {
    expect(opusPacketInfo(Uint8Array.of(0 << 3))).toMatchObject({ mode: 'silk', samples: 480, frameCount: 1 });
    expect(opusPacketInfo(Uint8Array.of((3 << 3) | 0x04))).toMatchObject({ mode: 'silk', samples: 2880, stereo: true });
    expect(opusPacketInfo(Uint8Array.of(13 << 3))).toMatchObject({ mode: 'hybrid', samples: 960 });
    expect(opusPacketInfo(Uint8Array.of(16 << 3))).toMatchObject({ mode: 'celt', samples: 120 });
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 1, 0, 0))).toMatchObject({ frameCount: 2, samples: 1920 });
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 2, 1, 0))).toMatchObject({ frameCount: 2, samples: 1920 });
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 3, 6))).toMatchObject({ frameCount: 6, samples: 5760 });
    expect(opusPacketInfo(Uint8Array.of((3 << 3) | 3, 2))).toMatchObject({ frameCount: 2, samples: 5760 });
  });

  it('rejects malformed headers', () => {
    expect(opusPacketInfo(new Uint8Array(0))).toBeUndefined();
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 1, 0))).toBeUndefined(); // odd body for two equal frames
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 3))).toBeUndefined();
    expect(opusPacketInfo(Uint8Array.of((31 << 3) | 3, 0))).toBeUndefined();
    expect(opusPacketInfo(Uint8Array.of((3 << 3) | 3, 3))).toBeUndefined(); // 180 ms > 120 ms
    expect(opusPacketSamples(Uint8Array.of((2 << 3) | 2))).toBeUndefined();
  });
});

describe.each([
  ['native encoder', defaultOpusCodec()],
  ['wasm encoder', defaultOpusCodec({ wasmEncoder: true })],
])('opus codec (%s, wasm libopus decoder)', (_name, codec) => {
  it.each([10, 20, 40, 60, 120])('encodes and decodes %i ms frames', (frameMs) => {
    const packets = encodeTone(codec, { frameMs }, Math.ceil(600 / frameMs));
    for (const p of packets) expect(opusPacketSamples(p)).toBe(48 * frameMs);
    const dec = codec.createDecoder(1);
    const pcm = concatSamples(packets.map((p) => dec.decode(p)));
    dec.close();
    expect(pcm.length).toBe(packets.length * 48 * frameMs);
    expect(toneRatio(pcm, 880, 48000, 9600, 4800)).toBeGreaterThan(0.9);
  });

  it('decodes stereo packets to stereo or mono, and mono packets to stereo', () => {
    const stereo = encodeTone(codec, { channels: 2, bitrate: 64000 }, 20, 440);
    expect(opusPacketInfo(stereo[5]!)!.stereo).toBe(true);
    const d2 = codec.createDecoder(2);
    const s = concatSamples(stereo.map((p) => d2.decode(p)));
    expect(s.length).toBe(20 * 960 * 2);
    const left = s.filter((_, i) => i % 2 === 0);
    expect(toneRatio(left, 440, 48000, 4800, 4800)).toBeGreaterThan(0.9);
    const d1 = codec.createDecoder(1);
    const m = concatSamples(stereo.map((p) => d1.decode(p)));
    expect(m.length).toBe(20 * 960);
    expect(toneRatio(m, 440, 48000, 4800, 4800)).toBeGreaterThan(0.9);
    const mono = encodeTone(codec, {}, 10);
    expect(d2.decode(mono[3]!).length).toBe(960 * 2);
    d1.close();
    d2.close();
  });

  it('conceals exactly the requested length and rebuilds a lost frame from in-band FEC', () => {
    const frames = 40;
    const tone = new ToneGenerator({ frequency: 300 });
    const input = Array.from({ length: frames }, () => tone.next(960));
    const enc = codec.createEncoder({ ...base, packetLossPercent: 30 });
    const packets = input.map((f) => enc.encode(f));
    enc.close();
    const lost = 30;
    const error = (a: Int16Array, b: Int16Array): number => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);

    const plcDec = codec.createDecoder(1);
    const fecDec = codec.createDecoder(1);
    const plc: Int16Array[] = [];
    const fec: Int16Array[] = [];
    for (let i = 0; i < frames; i += 1) {
      if (i === lost) {
        const p = plcDec.conceal(960);
        expect(p.length).toBe(960);
        expect(plcDec.conceal(480).length).toBe(480); // any multiple of 2.5 ms
        plc.push(p);
        fec.push(fecDec.decodeFec(packets[i + 1]!, 960));
        continue;
      }
      plc.push(plcDec.decode(packets[i]!));
      fec.push(fecDec.decode(packets[i]!));
    }
    // Compare the lost frame with what the decoder would have produced from the real packet.
    const ref = codec.createDecoder(1);
    const clean = packets.map((p) => ref.decode(p));
    const fecErr = error(fec[lost]!, clean[lost]!);
    const plcErr = error(plc[lost]!, clean[lost]!);
    expect(fecErr).toBeLessThan(plcErr);
    expect(fec[lost]!.length).toBe(960);
    for (const d of [plcDec, fecDec, ref]) d.close();
  });

  it('rejects corrupt packets with a MediaError and keeps working', () => {
    const dec = codec.createDecoder(1);
    expect(() => dec.decode(Uint8Array.of((31 << 3) | 3, 0))).toThrow(MediaError);
    expect(() => dec.decode(new Uint8Array(0))).toThrow(MediaError);
    expect(() => dec.conceal(100)).toThrow(MediaError);
    const good = encodeTone(codec, {}, 2);
    expect(dec.decode(good[0]!).length).toBe(960);
    dec.close();
    expect(() => dec.decode(good[1]!)).toThrow(MediaError);
  });

  it('validates encoder options at the boundary', () => {
    expect(() => codec.createEncoder({ ...base, frameMs: 30 })).toThrow(MediaError);
    expect(() => codec.createEncoder({ ...base, bitrate: 100 })).toThrow(MediaError);
    expect(() => codec.createEncoder({ ...base, complexity: 11 })).toThrow(MediaError);
    const enc = codec.createEncoder(base);
    expect(() => enc.encode(new Int16Array(100))).toThrow(MediaError);
    enc.close();
  });
});
