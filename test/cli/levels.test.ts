import { describe, expect, it } from 'vitest';
import { formatDb, LevelMeter, levelBar, levelDbfs } from '../../src/cli/levels.js';
import { formatDuration, formatProgress, ProgressLine } from '../../src/cli/progress.js';
import { generateTone } from '../../src/fake/index.js';

describe('audio level metering', () => {
  it('measures RMS in dBFS', () => {
    expect(levelDbfs(new Int16Array(960))).toBe(-Infinity);
    expect(levelDbfs(new Int16Array(0))).toBe(-Infinity);
    // a sine at half scale: RMS = 0.5 / sqrt 2 → -9 dBFS
    expect(levelDbfs(generateTone({ frequency: 1000, durationMs: 20, amplitude: 0.5 }))).toBeCloseTo(-9.03, 1);
    expect(levelDbfs(new Int16Array(960).fill(-32768))).toBeCloseTo(0, 5);
  });

  it('holds the peak and lets it fall slowly', () => {
    const meter = new LevelMeter(20);
    expect(meter.read(0)).toBe(-Infinity);
    meter.push(generateTone({ frequency: 1000, durationMs: 20, amplitude: 0.5 }), 1000);
    meter.push(new Int16Array(960), 1020); // silence does not reset the display
    expect(meter.read(1000)).toBeCloseTo(-9.03, 1);
    expect(meter.read(1500)).toBeCloseTo(-19.03, 1);
  });

  it('draws bars and numbers', () => {
    expect(levelBar(-Infinity)).toBe('........');
    expect(levelBar(0)).toBe('########');
    expect(levelBar(-30)).toBe('####....');
    expect(levelBar(-100)).toBe('........');
    expect(formatDb(-9.4)).toBe(' -9 dB');
    expect(formatDb(-Infinity)).toBe(' -∞ dB');
  });
});

describe('the progress line', () => {
  const snapshot = { label: 'call', state: 'connected', talkMs: 75_500, inDb: -20, outDb: -Infinity };

  it('shows state, duration and both levels', () => {
    expect(formatDuration(75_500)).toBe('01:15');
    const line = formatProgress(snapshot);
    expect(line).toMatch(/^call connected\s+01:15 {2}in #+\.+ -20 dB {2}out \.+ +-∞ dB$/);
    expect(formatProgress({ ...snapshot, talkMs: undefined, muted: true })).toMatch(/--:--.*\(muted\)$/);
  });

  it('redraws in place on a terminal and prints periodic lines elsewhere', () => {
    const tty: string[] = [];
    const onTty = new ProgressLine({ isTTY: true, write: (t: string) => tty.push(t) });
    onTty.update(snapshot, 0);
    onTty.update(snapshot, 250);
    onTty.done();
    expect(tty.slice(0, 2).every((t) => t.startsWith('\r'))).toBe(true);
    expect(tty.at(-1)).toBe('\n');

    const plain: string[] = [];
    const piped = new ProgressLine({ isTTY: false, write: (t: string) => plain.push(t) }, 5000);
    piped.update(snapshot, 0);
    piped.update(snapshot, 1000);
    piped.update(snapshot, 5000);
    piped.update(snapshot, 5100, true);
    piped.done();
    expect(plain).toHaveLength(3);
    expect(plain.every((t) => t.endsWith('\n') && !t.includes('\r'))).toBe(true);
  });
});
