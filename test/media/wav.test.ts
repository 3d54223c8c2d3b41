/** wav.ts: WAV parsing and writing, and conversion of any common WAV to 48 kHz. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaError } from '../../src/errors.js';
import { toneRatio } from '../../src/media/goertzel.js';
import { generateTone, ToneGenerator } from '../../src/media/tone.js';
import { encodeWav, parseWav, readWavFile, toPcm48k, writeWavFile } from '../../src/media/wav.js';
import { seededRandom } from './lossy-link.js';

/** A WAV with an arbitrary sample encoding, built by hand (what other tools write). */
function customWav(rate: number, channels: number, bits: number, format: number, frames: number, sample: (i: number) => number): Buffer {
  const bytes = bits / 8;
  const data = Buffer.alloc(frames * channels * bytes);
  for (let i = 0; i < frames * channels; i += 1) {
    const v = sample(Math.floor(i / channels)); // −1…1
    const o = i * bytes;
    if (format === 3) data.writeFloatLE(v, o);
    else if (bits === 8) data[o] = Math.round(v * 127) + 128;
    else if (bits === 24) data.writeIntLE(Math.round(v * 8388607), o, 3);
    else if (bits === 32) data.writeInt32LE(Math.round(v * 2147483647), o);
    else data.writeInt16LE(Math.round(v * 32767), o);
  }
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(format, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE(rate * channels * bytes, 16);
  fmt.writeUInt16LE(channels * bytes, 20);
  fmt.writeUInt16LE(bits, 22);
  const list = Buffer.from('LIST\x04\x00\x00\x00abcd', 'latin1'); // a chunk to skip
  const dataHdr = Buffer.alloc(8);
  dataHdr.write('data', 0, 'ascii');
  dataHdr.writeUInt32LE(data.length, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + fmt.length + list.length + dataHdr.length + data.length, 4);
  riff.write('WAVE', 8, 'ascii');
  return Buffer.concat([riff, fmt, list, dataHdr, data]);
}

describe('wav', () => {
  it('round-trips 16-bit PCM through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tgcall-wav-'));
    try {
      const pcm = new ToneGenerator({ frequency: 1000, channels: 2 }).next(4800);
      const path = join(dir, 'a.wav');
      await writeWavFile(path, pcm, 48000, 2);
      const parsed = parseWav(encodeWav(pcm, 48000, 2));
      expect(parsed.sampleRate).toBe(48000);
      expect(parsed.channels).toBe(2);
      expect([...parsed.samples]).toEqual([...pcm]);
      const mono = await readWavFile(path, 1);
      expect(mono.length).toBe(4800);
      expect(toneRatio(mono, 1000, 48000)).toBeGreaterThan(0.99);
      expect((await readWavFile(path, 2)).length).toBe(9600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [8, 1],
    [24, 1],
    [32, 1],
    [32, 3],
  ])('reads %i-bit format %i samples', (bits, format) => {
    const sine = (i: number): number => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000);
    const audio = parseWav(customWav(16000, 2, bits, format, 1600, sine));
    expect(audio).toMatchObject({ sampleRate: 16000, channels: 2 });
    expect(audio.samples.length).toBe(3200);
    for (let i = 0; i < 1600; i += 50) expect(Math.abs(audio.samples[2 * i]! - sine(i) * 32767)).toBeLessThan(bits === 8 ? 300 : 2);
  });

  it.each([8000, 16000, 22050, 24000, 32000, 44100, 48000])('resamples %i Hz to 48 kHz keeping length and pitch', (rate) => {
    const tone = generateTone({ frequency: 1000, sampleRate: rate, durationMs: 500 });
    const out = toPcm48k({ sampleRate: rate, channels: 1, samples: tone });
    expect(out.length).toBe(24000);
    expect(toneRatio(out, 1000, 48000, 4800, 14400)).toBeGreaterThan(0.98);
    const rms = Math.sqrt(out.subarray(4800, 19200).reduce((s, v) => s + v * v, 0) / 14400);
    expect(rms / (0.5 * 32767 * Math.SQRT1_2)).toBeGreaterThan(0.97);
  });


  it('rejects files that are not WAV or not supported', () => {
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(MediaError);
    const w = customWav(8000, 1, 16, 1, 10, () => 0);
    expect(() => parseWav(w.subarray(0, 30))).toThrow(MediaError);
    const adpcm = customWav(8000, 1, 16, 1, 10, () => 0);
    adpcm.writeUInt16LE(2, 20);
    expect(() => parseWav(adpcm)).toThrow(/WAV_UNSUPPORTED|format 2/);
    const rand = seededRandom(4);
    for (let i = 0; i < 2000; i += 1) {
      const junk = Buffer.from(w);
      for (let j = 0; j < 4; j += 1) junk[Math.floor(rand() * junk.length)] = Math.floor(rand() * 256);
      try {
        parseWav(junk);
      } catch (err) {
        expect(err).toBeInstanceOf(MediaError);
      }
    }
  });
});
