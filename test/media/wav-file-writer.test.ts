/** wav-file-writer.ts: the streaming WAV writer behind call.record(). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WavFileWriter } from '../../src/media/wav-file-writer.js';
import { parseWav } from '../../src/media/wav.js';

describe('streaming WAV writer', () => {
  it('writes a valid WAV whose header is patched on close', async () => {
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
