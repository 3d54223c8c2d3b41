/** Two (or more) accounts on the fake Telegram, with real calls on loopback between them. */
import { concatSamples, FakeTelegram, generateTone, toneFraction, type FakeTelegramOptions } from '../../src/fake/index.js';
import { TelegramCalls, type CallEndInfo, type TelegramCallsOptions } from '../../src/index.js';
import { Call } from '../../src/call/call.js';
import { expect } from 'vitest';
import { judgeTone, VOICED_LEVEL } from '../../src/cli/tone-judge.js';
import { liveNativeHandles } from '../../src/transport/native-handles.js';
import type { AudioFrame } from '../../src/media/index.js';

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
  return phonesWith(fake, options, {});
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
  return concatSamples(frames.map((f) => f.pcm));
}

/** What a call heard of a tone, judged on decoded audio only (see `hearTone`). */
export interface Heard {
  /** Share of 100 ms windows of decoded audio (5 frames in a row, none concealed), from the first voiced frame, in which the tone dominates. */
  readonly share: number;
  /** Decoded audio judged, ms (the frames made from the peer's packets). */
  readonly decodedMs: number;
  /** Frames the jitter buffer concealed meanwhile (late or missing packets), ms: reported, not judged. */
  readonly concealedMs: number;
}

const FRAME_MS = 20;

/**
 * What `call` hears of `frequency`, judged like `tgcall check` judges it (src/cli/tone-judge.ts):
 * on the frames decoded from the peer's packets, from the first voiced one, until `needMs` of
 * them (or `maxMs` has passed). Concealed frames are left out of the judgement: when the machine
 * is loaded a stalled event loop makes packets late and the jitter buffer conceals them — a
 * real-time figure, which the benchmarks measure; this asserts what the packets carry. A call
 * that carries nothing returns decodedMs 0 (and share 0).
 */
export async function hearTone(call: Call, frequency: number, needMs = 1_500, maxMs = 15_000): Promise<Heard> {
  const frames: AudioFrame[] = [];
  let decoded = 0;
  const iterator = call.audio.frames()[Symbol.asyncIterator]();
  const deadline = Date.now() + maxMs;
  while (decoded * FRAME_MS < needMs) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout' || next.done) break;
    frames.push(next.value);
    // counts toward `needMs` from the first voiced decoded frame on, as judgeTone does
    if (!next.value.concealed && (decoded > 0 || next.value.pcm.some((s) => Math.abs(s) > VOICED_LEVEL))) decoded += 1;
  }
  await iterator.return?.();
  const { share, decodedMs, concealedMs } = judgeTone(frames, frequency);
  return { share, decodedMs, concealedMs };
}

/** Asserts that `call` hears `frequency` (≥ 90 % of ≥ `needMs` of decoded audio); returns what it heard. */
export async function expectHears(call: Call, frequency: number, label = `hears ${frequency} Hz`, needMs = 1_500): Promise<Heard> {
  const heard = await hearTone(call, frequency, needMs);
  const what = `${label}: ${JSON.stringify(heard)}`;
  expect(heard.decodedMs, what).toBeGreaterThanOrEqual(needMs);
  expect(heard.share, what).toBeGreaterThanOrEqual(0.9);
  return heard;
}

/** Fraction of 100 ms windows, from the first voiced one, in which `frequency` dominates. */
export function toneShare(pcm: Int16Array, frequency: number): number {
  const first = pcm.findIndex((s) => Math.abs(s) > VOICED_LEVEL);
  if (first < 0) return 0;
  return toneFraction(pcm.subarray(first), frequency, { windowMs: 100 });
}

export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

// ---- more accounts, bounded waits, lifecycle checks ----------------------------------------------

/** Per-account option overrides for `phones()`-like setups. */
export type PerAccount = Partial<Record<'alice' | 'bob' | 'carol', TelegramCallsOptions>>;

/** Like `phones()`, with options that differ per account (e.g. one side's ring timeout). */
export async function phonesWith(fake: FakeTelegramOptions, options: TelegramCallsOptions, per: PerAccount): Promise<Phones> {
  const telegram = new FakeTelegram({ seed: 1, ...fake });
  await telegram.ready();
  const make = (id: bigint, name: 'alice' | 'bob' | 'carol') =>
    new TelegramCalls(telegram.createClient(id, name), { bindAddress: '127.0.0.1', ...options, ...per[name] });
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
      await telegram.close();
    },
  };
}

export interface Account {
  readonly id: bigint;
  readonly calls: TelegramCalls;
}

export interface Network {
  readonly telegram: FakeTelegram;
  readonly accounts: readonly Account[];
  close(): Promise<void>;
}

/** `count` accounts (ids 2001, 2002, …) on one fake Telegram. */
export async function network(
  count: number,
  fake: FakeTelegramOptions = {},
  options: (index: number) => TelegramCallsOptions = () => ({}),
): Promise<Network> {
  const telegram = new FakeTelegram({ seed: 1, ...fake });
  await telegram.ready();
  const accounts: Account[] = [];
  for (let i = 0; i < count; i++) {
    const id = 2001n + BigInt(i);
    accounts.push({ id, calls: new TelegramCalls(telegram.createClient(id, `user${i}`), { bindAddress: '127.0.0.1', ...options(i) }) });
  }
  await Promise.all(accounts.map((a) => a.calls.start()));
  return {
    telegram,
    accounts,
    async close() {
      await Promise.all(accounts.map((a) => a.calls.stop()));
      await telegram.close();
    },
  };
}

/** Rejects with a clear message when `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 20 ms; false when it still does not hold after `ms`. */
export async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the call's rejection (or throws if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, the promise resolved');
}

/** `caller` calls `calleeId`; `callee` answers. Resolves when both are connected (bounded). */
export async function connectCall(
  caller: TelegramCalls,
  callee: TelegramCalls,
  calleeId: bigint,
  ms = 10_000,
): Promise<{ outgoing: Call; incoming: Call }> {
  const incomingP = nextIncoming(callee);
  const outgoing = await caller.call(calleeId);
  const incoming = await within(incomingP, ms, 'incoming call');
  await within(Promise.all([incoming.accept(), outgoing.whenConnected()]), ms, 'both sides connected');
  return { outgoing, incoming };
}

/** Waits (bounded) for the end of a call and checks `call.ended` is the same info. */
export async function ended(call: Call, ms = 10_000): Promise<CallEndInfo> {
  const info = await within(call.whenEnded(), ms, `end of the ${call.direction} call`);
  if (call.ended !== info) throw new Error('call.ended differs from the whenEnded() info');
  if (call.state !== 'ended') throw new Error(`state ${call.state} after whenEnded()`);
  return info;
}

/**
 * A little audio passes `from` → `to`: a 440 Hz tone is played and `to` decodes it in most of the
 * 100 ms windows of `ms` ms of decoded audio (`hearTone`); 0 when less than `ms` arrives.
 */
export async function audioPasses(from: Call, to: Call, ms = 700): Promise<number> {
  void playTone(from, 440, ms / 1000 + 1);
  const heard = await hearTone(to, 440, ms);
  return heard.decodedMs >= ms ? heard.share : 0;
}

/** Native handles and timers back to a baseline, waiting at most `ms` for late closes. */
export async function settled(baseline: { handles: number; timers: number }, ms = 3_000): Promise<{ handles: number; timers: number }> {
  await eventually(() => liveNativeHandles() <= baseline.handles && activeTimers() <= baseline.timers, ms);
  return { handles: liveNativeHandles(), timers: activeTimers() };
}

export function resourceBaseline(): { handles: number; timers: number } {
  return { handles: liveNativeHandles(), timers: activeTimers() };
}
