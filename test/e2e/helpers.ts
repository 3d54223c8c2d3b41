/** Two (or more) accounts on the fake Telegram, with real calls on loopback between them. */
import { FakeTelegram, type FakeTelegramOptions } from '../../src/fake/index.js';
import { TelegramCalls, type TelegramCallsOptions } from '../../src/index.js';
import { Call } from '../../src/call/call.js';
import { generateTone, toneFraction, type AudioFrame } from '../../src/media/index.js';

export const ALICE = 1001n;
export const BOB = 1002n;
export const CAROL = 1003n;

export interface Phones {
  telegram: FakeTelegram;
  alice: TelegramCalls;
  bob: TelegramCalls;
  carol: TelegramCalls;
  close(): Promise<void>;
}

export async function phones(
  fake: FakeTelegramOptions = {},
  options: TelegramCallsOptions = {},
): Promise<Phones> {
  const telegram = new FakeTelegram({ seed: 1, ...fake });
  const make = (id: bigint, name: string) =>
    new TelegramCalls(telegram.createClient(id, name), { bindAddress: '127.0.0.1', ...options });
  const alice = make(ALICE, 'alice');
  const bob = make(BOB, 'bob');
  const carol = make(CAROL, 'carol');
  await Promise.all([alice.start(), bob.start(), carol.start()]);
  return {
    telegram,
    alice,
    bob,
    carol,
    async close() {
      await Promise.all([alice.stop(), bob.stop(), carol.stop()]);
      telegram.close();
    },
  };
}

export function nextIncoming(calls: TelegramCalls): Promise<Call> {
  return new Promise((resolve) => calls.once('incoming', resolve));
}

/** Plays a continuous tone into the call until `stop()` (paced by the call's own frame clock). */
export function playTone(call: Call, frequency: number, seconds: number): Promise<void> {
  const pcm = generateTone({ frequency, durationMs: seconds * 1000, amplitude: 0.5 });
  const chunks = function* (): Generator<Int16Array> {
    for (let i = 0; i < pcm.length; i += 960) yield pcm.subarray(i, i + 960);
  };
  return call.audio.play(chunks());
}

/** Collects received frames for `ms` milliseconds. */
export async function collect(call: Call, ms: number): Promise<Int16Array> {
  const frames: AudioFrame[] = [];
  const iterator = call.audio.frames()[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), left)),
    ]);
    if (next === 'timeout' || next.done) break;
    frames.push(next.value);
  }
  await iterator.return?.();
  const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
  let offset = 0;
  for (const f of frames) {
    out.set(f.pcm, offset);
    offset += f.pcm.length;
  }
  return out;
}

/** Fraction of 100 ms windows, from the first voiced one, in which `frequency` dominates. */
export function toneShare(pcm: Int16Array, frequency: number): number {
  const first = pcm.findIndex((s) => Math.abs(s) > 2000);
  if (first < 0) return 0;
  return toneFraction(pcm.subarray(first), frequency, { windowMs: 100 });
}

export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
