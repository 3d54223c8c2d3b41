/**
 * Whether a call heard a tone, judged the way the end-to-end tests judge it (test/e2e/helpers.ts,
 * hearTone): on the frames decoded from the peer's packets only, in 100 ms windows of 5 such
 * frames in a row, from the first voiced frame. A concealed frame (late or missing packet) breaks
 * the run: a window across it would join two pieces of the tone with a phase jump whose energy
 * cancels, and fail a call whose every decoded frame carried the tone (seen at load 14 on 2 vCPUs,
 * where the first call in a process conceals 200-340 ms while V8 warms up). Concealment is
 * reported beside the verdict, not judged. Pure: frames in, figures out.
 */
import { toneFraction } from '../media/goertzel.js';
import { concatSamples } from '../media/pcm.js';

export interface JudgedFrame {
  readonly pcm: Int16Array;
  readonly concealed: boolean;
}

export interface ToneHeard {
  /** Share of 100 ms windows of decoded audio in which the tone dominates (0 with no window). */
  readonly share: number;
  readonly windows: number;
  /** Decoded audio from the first voiced frame on, ms. */
  readonly decodedMs: number;
  /** Frames the jitter buffer concealed from the first voiced frame on, ms. */
  readonly concealedMs: number;
}

const FRAME_MS = 20;
const FRAMES_PER_WINDOW = 5;
/** A sample louder than this makes its frame voiced: where judging starts. */
export const VOICED_LEVEL = 2000;

export function judgeTone(frames: readonly JudgedFrame[], frequency: number): ToneHeard {
  const first = frames.findIndex((f) => !f.concealed && f.pcm.some((s) => Math.abs(s) > VOICED_LEVEL));
  if (first < 0) return { share: 0, windows: 0, decodedMs: 0, concealedMs: 0 };
  let run: Int16Array[] = [];
  let windows = 0;
  let dominated = 0;
  let decoded = 0;
  let concealed = 0;
  for (const frame of frames.slice(first)) {
    if (frame.concealed) {
      concealed += 1;
      run = [];
      continue;
    }
    decoded += 1;
    run.push(frame.pcm);
    if (run.length === FRAMES_PER_WINDOW) {
      windows += 1;
      if (toneFraction(concatSamples(run), frequency, { windowMs: 100 }) === 1) dominated += 1;
      run = [];
    }
  }
  return { share: windows === 0 ? 0 : dominated / windows, windows, decodedMs: decoded * FRAME_MS, concealedMs: concealed * FRAME_MS };
}
