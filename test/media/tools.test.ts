import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaError } from '../../src/errors.js';
import { detectTone, goertzelPower, toneFraction, toneRatio } from '../../src/media/goertzel.js';
import { resample } from '../../src/media/resampler.js';
import { generateTone, ToneGenerator, toneFrames } from '../../src/media/tone.js';
import { VoiceActivityDetector } from '../../src/media/vad.js';
import { encodeWav, parseWav, readWavFile, toPcm48k, writeWavFile } from '../../src/media/wav.js';
import { PcmQueue } from '../../src/media/pcm-queue.js';
import { bytesToSamples, downmixToMono, samplesToBuffer } from '../../src/media/pcm.js';
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

describe('goertzel', () => {
  it('measures the energy share of a frequency', () => {
    const tone = generateTone({ frequency: 880, durationMs: 100 });
    expect(toneRatio(tone, 880, 48000)).toBeGreaterThan(0.99);
    expect(toneRatio(tone, 440, 48000)).toBeLessThan(0.01);
    expect(toneRatio(new Int16Array(4800), 880, 48000)).toBe(0);
    expect(goertzelPower(tone, 880, 48000)).toBeGreaterThan(1e12);
  });

  it('returns the fraction of 100 ms windows in which the tone dominates', () => {
    const a = generateTone({ frequency: 880, durationMs: 600 });
    const b = generateTone({ frequency: 440, durationMs: 200 });
    const silence = new Int16Array(48 * 200);
    const pcm = new Int16Array(a.length + b.length + silence.length);
    pcm.set(a);
    pcm.set(b, a.length);
    pcm.set(silence, a.length + b.length);
    const det = detectTone(pcm, 880);
    expect(det.windows).toBe(10);
    expect(det.dominated).toBe(6);
    expect(toneFraction(pcm, 440)).toBeCloseTo(0.2);
    // A quiet tone under loud noise does not dominate; with a little noise it still does.
    const rand = seededRandom(1);
    const noisy = generateTone({ frequency: 880, durationMs: 500, amplitude: 0.3 }).map((v) => v + Math.round((rand() - 0.5) * 3000));
    expect(toneFraction(noisy, 880)).toBe(1);
    const drowned = generateTone({ frequency: 880, durationMs: 500, amplitude: 0.02 }).map((v) => v + Math.round((rand() - 0.5) * 30000));
    expect(toneFraction(drowned, 880)).toBe(0);
    // Stereo input: the first channel is analysed.
    expect(toneFraction(new ToneGenerator({ frequency: 880, channels: 2 }).next(9600), 880, { channels: 2 })).toBe(1);
  });
});

describe('wav and resampling', () => {
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

  it('downsamples without aliasing above the new Nyquist frequency', () => {
    const high = generateTone({ frequency: 10000, durationMs: 200 }); // above 8 kHz Nyquist of 16 kHz
    const out = resample(high, 1, 48000, 16000);
    expect(out.length).toBe(3200);
    const rms = Math.sqrt(out.subarray(400, 2800).reduce((s, v) => s + v * v, 0) / 2400);
    expect(rms).toBeLessThan(200);
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

describe('voice activity detection', () => {
  it('starts on speech-level audio, holds over short pauses, ends after the hangover', () => {
    const vad = new VoiceActivityDetector({ hangoverMs: 200 });
    const tone = new ToneGenerator({ frequency: 300, amplitude: 0.3 });
    const silence = new Int16Array(960);
    const flags: boolean[] = [];
    for (let i = 0; i < 10; i += 1) flags.push(vad.process(silence));
    for (let i = 0; i < 20; i += 1) flags.push(vad.process(tone.next(960)));
    for (let i = 0; i < 5; i += 1) flags.push(vad.process(silence)); // 100 ms pause
    for (let i = 0; i < 10; i += 1) flags.push(vad.process(tone.next(960)));
    for (let i = 0; i < 30; i += 1) flags.push(vad.process(silence));
    expect(flags.slice(0, 10).some(Boolean)).toBe(false);
    expect(flags[10]).toBe(false); // attack: two frames
    expect(flags.slice(11, 45).every(Boolean)).toBe(true);
    expect(flags.slice(45 + 11).some(Boolean)).toBe(false);
  });

  it('ignores steady background noise but not a voice above it', () => {
    const vad = new VoiceActivityDetector();
    const rand = seededRandom(9);
    const noise = (): Int16Array => Int16Array.from({ length: 960 }, () => Math.round((rand() - 0.5) * 400)); // ≈ −47 dBFS
    for (let i = 0; i < 100; i += 1) vad.process(noise());
    expect(vad.active).toBe(false);
    const tone = new ToneGenerator({ frequency: 200, amplitude: 0.2 });
    let active = false;
    for (let i = 0; i < 5; i += 1) {
      const frame = tone.next(960).map((v, k) => v + noise()[k]!);
      active = vad.process(frame);
    }
    expect(active).toBe(true);
    // A steady tone stays voice for a long time (the noise floor is capped well below it).
    for (let i = 0; i < 3000; i += 1) active = vad.process(tone.next(960));
    expect(active).toBe(true);
  });
});

describe('pcm helpers', () => {
  it('converts bytes and samples, mixes down and queues with a bound', () => {
    const s = Int16Array.of(1, -2, 32767, -32768);
    const b = samplesToBuffer(s);
    expect([...b]).toEqual([1, 0, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
    expect([...bytesToSamples(b)]).toEqual([...s]);
    expect([...bytesToSamples(Buffer.concat([Buffer.from([9]), b]).subarray(1))]).toEqual([...s]); // unaligned
    expect([...downmixToMono(Int16Array.of(100, 300, -5, -7), 2)]).toEqual([200, -6]);
    const q = new PcmQueue(10);
    expect(q.push(Int16Array.from({ length: 8 }, (_, i) => i))).toBe(0);
    expect(q.push(Int16Array.of(8, 9, 10, 11))).toBe(2);
    expect([...q.take(4)!]).toEqual([2, 3, 4, 5]);
    expect(q.take(8)).toBeUndefined();
    expect([...q.take(8, true)!]).toEqual([6, 7, 8, 9, 10, 11, 0, 0]);
  });

  it('discards from the front with a crossfade from the dropped head into the kept audio, across chunks', () => {
    const q = new PcmQueue(100);
    q.push(Int16Array.from({ length: 6 }, () => 1000)); // what would have followed the last frame sent
    q.push(Int16Array.from({ length: 6 }, () => 0));
    q.push(Int16Array.from({ length: 3 }, () => 0));
    expect(q.discard(6, 4)).toBe(6);
    expect(q.length).toBe(9);
    expect(q.dropped).toBe(6);
    // 1000 fades to the kept level (0) in 4 steps instead of jumping.
    expect([...q.take(9)!]).toEqual([800, 600, 400, 200, 0, 0, 0, 0, 0]);
    q.push(Int16Array.of(1, 2, 3));
    expect(q.discard(10, 5)).toBe(3); // no more than is queued, no fade without kept audio
    expect(q.length).toBe(0);
  });
});

describe('streaming WAV writer', () => {
  it('writes a valid WAV whose header is patched on close', async () => {
    const { WavFileWriter } = await import('../../src/media/wav-file-writer.js');
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { parseWav } = await import('../../src/media/wav.js');
    const dir = await mkdtemp(join(tmpdir(), 'tgcall-wav-'));
    try {
      const path = join(dir, 'out.wav');
      const writer = await WavFileWriter.create(path, 48000, 1);
      const chunk = new Int16Array(960).map((_, i) => (i * 37) % 2000 - 1000);
      for (let i = 0; i < 50; i++) writer.write(chunk);
      expect(writer.durationMs).toBeCloseTo(1000);
      await writer.close();
      await writer.close();
      const wav = parseWav(await readFile(path));
      expect(wav.sampleRate).toBe(48000);
      expect(wav.channels).toBe(1);
      expect(wav.samples.length).toBe(960 * 50);
      expect(Array.from(wav.samples.subarray(960, 1920))).toEqual(Array.from(chunk));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('toneFrames', () => {
  it('yields 20 ms tone frames while more() holds, with optional bursts of silence', () => {
    let left = 100;
    const steady = [...toneFrames({ frequency: 440, more: () => left-- > 0 })];
    expect(steady).toHaveLength(100);
    expect(steady.every((f) => f.length === 960)).toBe(true);
    left = 100;
    const bursts = [...toneFrames({ frequency: 440, more: () => left-- > 0, burst: { onMs: 200, offMs: 300 } })];
    const voiced = bursts.map((f) => f.some((s) => s !== 0));
    // 10 frames on, 15 off, repeated
    expect(voiced.slice(0, 25)).toEqual([...Array(10).fill(true), ...Array(15).fill(false)]);
    expect(voiced.filter(Boolean)).toHaveLength(40);
    const joined = new Int16Array(steady.length * 960);
    steady.forEach((f, i) => joined.set(f, i * 960));
    expect(detectTone(joined, 440).fraction).toBe(1);
  });
});
