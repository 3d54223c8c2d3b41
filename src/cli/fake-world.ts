/**
 * A small world on the built-in fake Telegram for the demo, the examples and the CLI's `--fake`
 * mode: "you" and one other phone, a second `TelegramCalls` in this process that answers your
 * calls or calls you, and talks (a tone, or tone bursts that sound like turns of speech).
 */
import { TelegramCalls, type TelegramCallsOptions } from '../call/telegram-calls.js';
import type { Call } from '../call/call.js';
import { FakeTelegram } from '../fake/index.js';
import { toneFrames } from '../media/tone.js';

export const FAKE_YOU_ID = 1001n;
export const FAKE_PEER_ID = 1002n;

export interface FakePeerOptions {
  /** `answer`: picks up your calls. `call`: calls you after `delayMs`. */
  readonly role: 'answer' | 'call';
  /** What it says: a steady tone, or 1 s bursts of tone with 1 s pauses. Default `tone`. */
  readonly speech?: 'tone' | 'bursts';
  /** Tone frequency, Hz. Default 880. */
  readonly frequency?: number;
  /** It hangs up after this many connected seconds. Default 10. */
  readonly seconds?: number;
  /** Ring time before it answers, or delay before it calls. Default 300 ms. */
  readonly delayMs?: number;
}

export interface FakeWorld {
  readonly telegram: FakeTelegram;
  /** Your account. */
  readonly calls: TelegramCalls;
  /** The other phone's account. */
  readonly peer: TelegramCalls;
  /** The other phone's username (`@peer`). */
  readonly peerName: string;
  close(): Promise<void>;
}

export async function createFakeWorld(
  peerOptions: FakePeerOptions,
  options: TelegramCallsOptions = {},
): Promise<FakeWorld> {
  const telegram = new FakeTelegram();
  // on one machine the media goes over loopback
  const callOptions: TelegramCallsOptions = { bindAddress: '127.0.0.1', ...options };
  const calls = new TelegramCalls(telegram.createClient(FAKE_YOU_ID, 'you'), callOptions);
  const { logger: _yourLogger, ...peerCallOptions } = callOptions;
  const peer = new TelegramCalls(telegram.createClient(FAKE_PEER_ID, 'peer'), peerCallOptions);
  await Promise.all([calls.start(), peer.start()]);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const delayMs = peerOptions.delayMs ?? 300;

  if (peerOptions.role === 'answer') {
    peer.on('incoming', (call) => later(delayMs, () => void talk(call, peerOptions, later, true)));
  } else {
    later(delayMs, () => {
      peer
        .call(FAKE_YOU_ID)
        .then((call) => talk(call, peerOptions, later, false))
        .catch(() => undefined);
    });
  }

  return {
    telegram,
    calls,
    peer,
    peerName: '@peer',
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([calls.stop(), peer.stop()]);
      telegram.close();
    },
  };
}

async function talk(
  call: Call,
  o: FakePeerOptions,
  later: (ms: number, fn: () => void) => void,
  answer: boolean,
): Promise<void> {
  try {
    if (answer) await call.accept();
    else await call.whenConnected();
  } catch {
    return; // ended before connecting: nothing to say
  }
  later((o.seconds ?? 10) * 1000, () => void call.hangup().catch(() => undefined));
  const frames = toneFrames({
    frequency: o.frequency ?? 880,
    amplitude: 0.4,
    more: () => call.state === 'connected',
    ...(o.speech === 'bursts' ? { burst: { onMs: 1000, offMs: 1000 } } : {}),
  });
  await call.audio.play(frames).catch(() => undefined);
}
