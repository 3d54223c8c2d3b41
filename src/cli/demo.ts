/**
 * `tgcall demo`: a full call between two accounts on the built-in fake Telegram, in this process.
 * Real DH, real encrypted signaling, real WebRTC (libdatachannel) on loopback, real Opus: Alice
 * says 440 Hz, Bob says 880 Hz, each records the other; the demo then checks both recordings for
 * the other's tone.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TelegramCalls } from '../call/telegram-calls.js';
import { FakeTelegram } from '../fake/index.js';
import type { Logger } from '../logger.js';
import { toneFraction } from '../media/goertzel.js';
import { readWavFile } from '../media/index.js';

/** One 20 ms frame of the recordings (mono, 48 kHz). */
const FRAME_SAMPLES = 960;
import { formatMs, runCall, type CallReport } from './run-call.js';

export interface DemoOptions {
  /** Seconds Alice stays connected. Default 3. */
  readonly seconds?: number;
  /** Where the two recordings go. Default `./recordings`. */
  readonly outDir?: string;
  readonly logger?: Logger;
  /** Receives the demo's output lines. */
  readonly print: (line: string) => void;
}

export interface DemoResult {
  readonly ok: boolean;
  /** ms from `calls.call()` until both phones were connected. */
  readonly setupMs: number | undefined;
  readonly emojiMatch: boolean;
  /** Share of 100 ms windows in which each side heard the other's tone. */
  readonly bobHeard440: number;
  readonly aliceHeard880: number;
  readonly recordings: readonly string[];
}

/** Both sides must hear the other's tone in at least this share of windows. */
export const DEMO_TONE_THRESHOLD = 0.9;

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print;
  const seconds = options.seconds ?? 3;
  const outDir = options.outDir ?? 'recordings';
  await mkdir(outDir, { recursive: true });
  const aliceFile = join(outDir, 'alice-heard.wav');
  const bobFile = join(outDir, 'bob-heard.wav');

  const telegram = new FakeTelegram();
  const settings = { bindAddress: '127.0.0.1', ...(options.logger ? { logger: options.logger } : {}) };
  const alice = new TelegramCalls(telegram.createClient(1001n, 'alice'), settings);
  const bob = new TelegramCalls(telegram.createClient(1002n, 'bob'), settings);
  try {
    await Promise.all([alice.start(), bob.start()]);
    print('Alice calls @bob on the fake Telegram; Bob answers. Alice says 440 Hz, Bob says 880 Hz.');

    const connectedAt: number[] = [];
    const bobReport = new Promise<CallReport>((resolve, reject) => {
      bob.once('incoming', (call) => {
        print(`bob: incoming call from ${call.peerUserId}, answering`);
        call.once('connected', () => connectedAt.push(Date.now()));
        call.accept().catch(() => undefined);
        runCall(call, { label: 'bob', tone: 880, record: bobFile, onEvent: print }).then(resolve, reject);
      });
    });
    const startedAt = Date.now();
    const call = await alice.call('@bob');
    call.once('connected', () => connectedAt.push(Date.now()));
    const aliceReport = await runCall(call, { label: 'alice', tone: 440, record: aliceFile, seconds, onEvent: print });
    const bobResult = await bobReport;

    const setupMs = connectedAt.length === 2 ? Math.max(...connectedAt) - startedAt : undefined;
    const emojiMatch =
      aliceReport.emoji !== undefined &&
      bobResult.emoji !== undefined &&
      aliceReport.emoji.emoji.join() === bobResult.emoji.emoji.join();
    const connected = aliceReport.connected && bobResult.connected;
    const aliceHeard880 = connected ? toneShareOf(await readWavFile(aliceFile), 880) : 0;
    const bobHeard440 = connected ? toneShareOf(await readWavFile(bobFile), 440) : 0;

    print('');
    print(`emoji      alice ${aliceReport.emoji?.emoji.join(' ') ?? '-'}   bob ${bobResult.emoji?.emoji.join(' ') ?? '-'}   ${emojiMatch ? 'match' : 'DIFFER'}`);
    print(`setup      ${setupMs ?? '-'} ms from phone.requestCall to both connected (ICE+DTLS ${formatMs(aliceReport.connectMs)}), library version ${aliceReport.version ?? '-'}`);
    print(`audio      bob heard 440 Hz in ${percent(bobHeard440)} of 100 ms windows, alice heard 880 Hz in ${percent(aliceHeard880)}`);
    print(`ended      alice: ${aliceReport.end.reason} (${aliceReport.end.by}), bob: ${bobResult.end.reason} (${bobResult.end.by})`);
    print(`recordings ${aliceFile}, ${bobFile}`);
    const ok = connected && emojiMatch && bobHeard440 >= DEMO_TONE_THRESHOLD && aliceHeard880 >= DEMO_TONE_THRESHOLD;
    print(ok ? 'demo ok' : 'demo FAILED');
    return { ok, setupMs, emojiMatch, bobHeard440, aliceHeard880, recordings: [aliceFile, bobFile] };
  } finally {
    await Promise.all([alice.stop(), bob.stop()]);
    telegram.close();
  }
}

/**
 * Share of 20 ms frames with the tone, between the first and the last voiced frame. Frames, not
 * longer windows: a recording is written frame by frame, and a window across a concealed frame
 * would join two pieces of the tone with a phase jump (its energy cancels) although each frame
 * carries the tone — on a loaded machine that failed a call whose every frame had it.
 */
export function toneShareOf(pcm: Int16Array, frequency: number): number {
  const voiced = (s: number): boolean => Math.abs(s) > 2000;
  const first = pcm.findIndex(voiced);
  if (first < 0) return 0;
  let last = pcm.length - 1;
  while (last > first && !voiced(pcm[last]!)) last -= 1;
  const from = Math.floor(first / FRAME_SAMPLES) * FRAME_SAMPLES;
  const to = Math.min(pcm.length, Math.ceil((last + 1) / FRAME_SAMPLES) * FRAME_SAMPLES);
  return toneFraction(pcm.subarray(from, to), frequency, { windowMs: 20 });
}

function percent(x: number): string {
  return `${Math.round(x * 100)} %`;
}
