/**
 * `call.record(path)` and `call.playFile(path)` end to end: WAV in on one phone, WAV out on the
 * other, and a recording stopped in the middle of a call.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateTone } from '../../src/fake/index.js';
import { readWavFile, writeWavFile } from '../../src/index.js';
import { encodeWav } from '../../src/media/index.js';
import { BOB, connectCall, ended, phones, toneShare, within, type Phones } from './helpers.js';

let p: Phones | undefined;
let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tgcall-e2e-'));
});
afterEach(async () => {
  // Bounded: a call whose end hangs must not hold the suite for the hook timeout.
  const phonesToClose = p;
  p = undefined;
  if (phonesToClose) {
    await within(phonesToClose.close(), 5_000, 'closing the phones').catch((err: unknown) => {
      phonesToClose.telegram.close();
      console.warn(String(err));
    });
  }
  await rm(dir, { recursive: true, force: true });
});

describe('WAV files in and out of a call', () => {
  it('playFile (16 kHz WAV) on one side, record() until the call ends on the other: the recording holds the tone', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const source = join(dir, 'tone-16k.wav');
    // 2 s of 440 Hz at 16 kHz: playFile converts it to 48 kHz.
    const tone48 = generateTone({ frequency: 440, durationMs: 2_000, amplitude: 0.5 });
    const tone16 = new Int16Array(tone48.length / 3);
    for (let i = 0; i < tone16.length; i++) tone16[i] = tone48[i * 3]!;
    await writeWavFile(source, tone16, 16_000);
    const target = join(dir, 'heard.wav');
    const recorder = await incoming.record(target);
    await outgoing.playFile(source);
    await new Promise((r) => setTimeout(r, 1_800));
    await Promise.all([outgoing.hangup(), ended(incoming)]);
    const recordedMs = await within(recorder.done, 2_000, 'recording finished with the call');
    expect(recordedMs).toBeGreaterThan(1_000);
    const heard = await readWavFile(target);
    expect(heard.length).toBe(Math.round((recordedMs * 48_000) / 1000));
    // From the first to the last loud sample: the tone (the recording also holds silence around it).
    let last = heard.length - 1;
    while (last > 0 && Math.abs(heard[last]!) <= 2000) last--;
    const voiced = heard.subarray(0, last + 1);
    expect(voiced.length / 48).toBeGreaterThan(1_500);
    expect(toneShare(voiced, 440)).toBeGreaterThanOrEqual(0.9);
  });

  it('a recording stopped in the middle of the call: stop() resolves, the file is complete and the call ends normally', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const target = join(dir, 'part.wav');
    const recorder = await incoming.record(target);
    await new Promise((r) => setTimeout(r, 500));
    // stop() ends the recording loop's pending next() (frames() iterator return()).
    const recordedMs = await within(recorder.stop(), 2_000, 'recorder.stop()');
    expect(recordedMs).toBeGreaterThan(300);
    expect((await readWavFile(target)).length).toBe(Math.round((recordedMs * 48_000) / 1000));
    // Call.onEnded waits for its recorders.
    const [out, inc] = await within(Promise.all([outgoing.hangup(), incoming.whenEnded()]), 5_000, 'end of the call after a stopped recording');
    expect(out).toMatchObject({ reason: 'hangup', by: 'local' });
    expect(inc).toMatchObject({ reason: 'hangup', by: 'remote' });
  });

  it('playFile refuses what is not a regular file (typed), and a file playing when the call ends settles and is closed', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    /** Descriptors of this process open on `path` (other descriptors come and go with the call's sockets). */
    const fdsOn = (path: string): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Issue 15 defect 6: /dev/zero used to be read whole (2.5 GB) and the promise never settled.
    for (const path of ['/dev/zero', dir, fifo]) {
      await expect(outgoing.playFile(path), path).rejects.toMatchObject({ name: 'MediaError', code: 'WAV_NOT_FILE' });
      expect(fdsOn(path)).toBe(0);
    }
    // 2 GiB of silence (a sparse file, 6 hours): over the default limit, and streamed when allowed.
    const long = join(dir, 'long.wav');
    const header = encodeWav(new Int16Array(0), 48_000, 1);
    header.writeUInt32LE(36 + 2 ** 31, 4);
    header.writeUInt32LE(2 ** 31, 40);
    writeFileSync(long, header);
    truncateSync(long, header.length + 2 ** 31);
    await expect(outgoing.playFile(long)).rejects.toMatchObject({ code: 'WAV_TOO_LONG' });
    const playing = outgoing.playFile(long, { maxDurationMs: Number.POSITIVE_INFINITY });
    let settled = false;
    void playing.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect(fdsOn(long)).toBe(1);
    await Promise.all([incoming.hangup(), ended(outgoing)]);
    await within(playing, 5_000, 'playFile settles when the call ends');
    expect(fdsOn(long)).toBe(0);
  });
});
