import { describe, expect, it } from 'vitest';
import { judgeTone, type JudgedFrame } from '../../src/cli/tone-judge.js';
import { generateTone } from '../../src/media/tone.js';

/** `count` 20 ms frames of a continuous tone (phase carried over, as a sender makes them). */
function toneFrames(frequency: number, count: number): JudgedFrame[] {
  const pcm = generateTone({ frequency, durationMs: count * 20, amplitude: 0.5 });
  return Array.from({ length: count }, (_, i) => ({ pcm: pcm.subarray(i * 960, (i + 1) * 960), concealed: false }));
}
const silence = (count: number): JudgedFrame[] => Array.from({ length: count }, () => ({ pcm: new Int16Array(960), concealed: false }));
/** A concealed frame: the jitter buffer's stand-in, here a piece of the tone out of phase. */
const concealed = (frequency: number): JudgedFrame => ({ pcm: generateTone({ frequency, durationMs: 20, amplitude: 0.5 }).reverse(), concealed: true });

describe('judgeTone: a tone judged on decoded frames only', () => {
  it('from the first voiced frame, in windows of 5 decoded frames; concealed frames break the run and are counted', () => {
    const frames = [...silence(10), ...toneFrames(440, 12), concealed(440), ...toneFrames(440, 13)];
    // decoded after the first voiced frame: 25 frames = 500 ms; windows: 2 before the gap, 2 after (3 frames left over)
    expect(judgeTone(frames, 440)).toEqual({ share: 1, windows: 4, decodedMs: 500, concealedMs: 20 });
  });

  it('the other side’s tone is not this one', () => {
    expect(judgeTone(toneFrames(880, 25), 440)).toMatchObject({ share: 0, windows: 5, decodedMs: 500 });
  });

  it('nothing heard: no decoded audio, share 0', () => {
    expect(judgeTone([...silence(20), concealed(440), concealed(440)], 440)).toEqual({ share: 0, windows: 0, decodedMs: 0, concealedMs: 0 });
  });
});
