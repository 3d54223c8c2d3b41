/**
 * wav-stream.ts (issue 15 defect 6): only regular files, bounded reads, the same audio as the
 * whole-file reader, the file handle released however the stream ends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav, openWavStream, readWavFile } from '../../src/media/index.js';
import { generateTone } from '../../src/media/tone.js';

const dir = mkdtempSync(join(tmpdir(), 'tgcall-wav-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A WAV header claiming `dataBytes` of 16-bit mono at `rate`, then a sparse (all-zero) body. */
function sparseWav(name: string, dataBytes: number, rate = 48000): string {
  const path = join(dir, name);
  const header = encodeWav(new Int16Array(0), rate, 1);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.writeUInt32LE(dataBytes, 40);
  writeFileSync(path, header);
  truncateSync(path, header.length + dataBytes);
  return path;
}

describe('openWavStream', () => {
  it('refuses what is not a regular file with WAV_NOT_FILE, without hanging and without leaking a descriptor', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const before = openFds();
    for (const path of ['/dev/zero', dir, fifo, join(dir, 'missing.wav')]) {
      await expect(openWavStream(path), path).rejects.toMatchObject({ name: 'MediaError', code: 'WAV_NOT_FILE' });
      await expect(readWavFile(path), path).rejects.toMatchObject({ name: 'MediaError', code: 'WAV_NOT_FILE' });
    }
    expect(openFds()).toBe(before);
  });

  it('gives the same 48 kHz samples as the whole-file reader, in 20 ms chunks', async () => {
    const tone = generateTone({ frequency: 523, durationMs: 700, sampleRate: 44100, amplitude: 0.5 });
    const stereo = Int16Array.from({ length: tone.length * 2 }, (_, i) => (i & 1 ? -tone[i >> 1]! : tone[i >> 1]!));
    const path = join(dir, 'tone.wav');
    writeFileSync(path, encodeWav(stereo, 44100, 2));
    for (const channels of [1, 2] as const) {
      const whole = await readWavFile(path, channels);
      const stream = await openWavStream(path, { channels });
      expect(stream.durationMs).toBeCloseTo(700, 0);
      const chunks: Int16Array[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks.slice(0, -1).every((c) => c.length === 960 * channels)).toBe(true);
      const joined = new Int16Array(chunks.reduce((s, c) => s + c.length, 0));
      let o = 0;
      for (const c of chunks) joined.set(c, (o += c.length) - c.length);
      expect(joined).toEqual(whole);
    }
  });

  it('a file longer than the limit is refused from its header (WAV_TOO_LONG); readWavFile refuses what it cannot hold', async () => {
    // 3 GiB of 16-bit mono at 48 kHz: 9.3 hours, sparse on disk.
    const path = sparseWav('long.wav', 3 * 1024 ** 3);
    const before = openFds();
    await expect(openWavStream(path)).rejects.toMatchObject({ code: 'WAV_TOO_LONG' });
    await expect(openWavStream(sparseWav('minute.wav', 48000 * 2 * 60), { maxDurationMs: 30_000 })).rejects.toMatchObject({ code: 'WAV_TOO_LONG' });
    await expect(readWavFile(path)).rejects.toMatchObject({ code: 'WAV_TOO_LARGE' });
    expect(openFds()).toBe(before);
  });

  it('reads a huge file piece by piece: chunks come at once, leaving early closes the file', async () => {
    const path = sparseWav('huge.wav', 3 * 1024 ** 3);
    const before = openFds();
    const rss = process.memoryUsage().rss;
    const stream = await openWavStream(path, { maxDurationMs: Number.POSITIVE_INFINITY });
    expect(openFds()).toBe(before + 1);
    let n = 0;
    for await (const chunk of stream) {
      expect(chunk.length).toBe(960);
      if (++n === 500) break; // 10 s of audio out of 9 hours
    }
    expect(openFds()).toBe(before);
    // Far below the 3 GiB a whole read would take (a generous bound for the heap's own growth).
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    // close() before iterating releases it too.
    const unread = await openWavStream(path, { maxDurationMs: Number.POSITIVE_INFINITY });
    await unread.close();
    await unread.close();
    expect(openFds()).toBe(before);
  });
});
