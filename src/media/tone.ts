/** Sine tone generation (tests, examples, interop checks). */

export interface ToneOptions {
  frequency: number;
  /** Default 48000. */
  sampleRate?: number;
  /** Peak amplitude as a fraction of full scale. Default 0.5 (−9 dBFS RMS). */
  amplitude?: number;
  /** Interleaved output channels (the same tone on each). Default 1. */
  channels?: 1 | 2;
}

/** A phase-continuous tone source: successive `next()` calls join without clicks. */
export class ToneGenerator {
  private phase = 0;
  private readonly step: number;
  private readonly peak: number;
  private readonly channels: number;

  constructor(o: ToneOptions) {
    this.step = (2 * Math.PI * o.frequency) / (o.sampleRate ?? 48000);
    this.peak = Math.max(0, Math.min(1, o.amplitude ?? 0.5)) * 32767;
    this.channels = o.channels ?? 1;
  }

  /** The next `frames` sample frames, interleaved. */
  next(frames: number): Int16Array {
    const out = new Int16Array(frames * this.channels);
    for (let i = 0; i < frames; i += 1) {
      const v = Math.round(this.peak * Math.sin(this.phase));
      for (let c = 0; c < this.channels; c += 1) out[i * this.channels + c] = v;
      this.phase += this.step;
      if (this.phase > 2 * Math.PI) this.phase -= 2 * Math.PI;
    }
    return out;
  }
}

/** `durationMs` of a tone. */
export function generateTone(o: ToneOptions & { durationMs: number }): Int16Array {
  const frames = Math.round(((o.sampleRate ?? 48000) * o.durationMs) / 1000);
  return new ToneGenerator(o).next(frames);
}

/**
 * 20 ms frames (960 samples per channel) of a continuous tone for as long as `more()` is true —
 * e.g. while a call is connected. With `burst`, the tone is on for `onMs` and silent for `offMs`,
 * like turns of speech.
 */
export function* toneFrames(
  o: ToneOptions & { readonly more: () => boolean; readonly burst?: { readonly onMs: number; readonly offMs: number } },
): Generator<Int16Array> {
  const tone = new ToneGenerator(o);
  const silence = new Int16Array(960 * (o.channels ?? 1));
  const period = o.burst ? o.burst.onMs + o.burst.offMs : 0;
  for (let ms = 0; o.more(); ms += 20) {
    yield !o.burst || ms % period < o.burst.onMs ? tone.next(960) : silence;
  }
}
