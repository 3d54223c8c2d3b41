/** vad.ts: the voice activity detector behind frame.voice and voiceStart/voiceEnd. */
import { describe, expect, it } from 'vitest';
import { ToneGenerator } from '../../src/media/tone.js';
import { VoiceActivityDetector } from '../../src/media/vad.js';
import { seededRandom } from './lossy-link.js';

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
