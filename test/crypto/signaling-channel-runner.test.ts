import { describe, expect, it } from 'vitest';
import { AckedSignalingChannel, fromHex, SignalingChannelRunner, type SignalingChannel } from '../../src/crypto/index.js';
import { CryptoError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { callVectors, seededRandom } from '../helpers/vectors.js';

const key = fromHex(callVectors().key_hex);
const timings = { minResendDelayMs: 20, resendTimeoutMs: 40, ackDelayMs: 30 };

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Records uncaught exceptions until `stop()`. */
function watchUncaught(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (err: unknown): void => void seen.push(err);
  process.on('uncaughtException', listener);
  return { seen, stop: () => void process.off('uncaughtException', listener) };
}

/** A logger that keeps the messages logged at error level (and then throws, with `alsoThrow`). */
function errorRecorder(messages: string[], options: { alsoThrow?: boolean } = {}): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (message) => {
      messages.push(message);
      if (options.alsoThrow) throw new Error('logger bug');
    },
    child: () => logger,
  };
  return logger;
}

describe('signaling channel runner (real timers)', () => {
  it('delivers everything over a lossy async link and releases its timer on close', async () => {
    const before = activeTimers();
    const random = seededRandom(5);
    const received: { a: string[]; b: string[] } = { a: [], b: [] };
    const decoder = new TextDecoder();
    let a: SignalingChannelRunner;
    let b: SignalingChannelRunner;
    const deliver = (to: () => SignalingChannelRunner) => (packet: Uint8Array) => {
      if (random() < 0.3) return; // lost
      setImmediate(() => to().receive(packet));
    };
    const fatal = (e: Error) => {
      throw e;
    };
    a = new SignalingChannelRunner({
      channel: new AckedSignalingChannel({ key, isOutgoing: true, timings }),
      sendPacket: deliver(() => b),
      onMessage: (m) => received.a.push(decoder.decode(m)),
      onFatal: fatal,
    });
    b = new SignalingChannelRunner({
      channel: new AckedSignalingChannel({ key, isOutgoing: false, timings }),
      sendPacket: deliver(() => a),
      onMessage: (m) => received.b.push(decoder.decode(m)),
      onFatal: fatal,
    });
    const expected = Array.from({ length: 20 }, (_, i) => `msg-${i}`);
    for (const m of expected) {
      a.send(new TextEncoder().encode(m));
      b.send(new TextEncoder().encode(m));
    }
    const deadline = Date.now() + 10_000;
    while ((received.a.length < 20 || received.b.length < 20) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(received.b).toEqual(expected);
    expect(received.a).toEqual(expected);
    a.close();
    b.close();
    await new Promise((r) => setTimeout(r, 5));
    expect(activeTimers()).toBeLessThanOrEqual(before);
    // closed runners ignore further input instead of throwing
    expect(() => a.receive(new Uint8Array(40))).not.toThrow();
    a.send(new Uint8Array([1]));
  });

  it('nothing its callbacks throw escapes its timer or receive(): logged, and the channel goes on resending', async () => {
    const uncaught = watchUncaught();
    const logged: string[] = [];
    const logger = errorRecorder(logged, { alsoThrow: true }); // the last resort must not throw either
    let attempts = 0;
    let b: SignalingChannelRunner | undefined;
    const a = new SignalingChannelRunner({
      channel: new AckedSignalingChannel({ key, isOutgoing: true, timings }),
      sendPacket: (packet) => {
        attempts += 1;
        if (attempts >= 3) b?.receive(packet); // the first two sends fail (one from the resend timer)
        else throw new Error('send bug');
      },
      onMessage: () => undefined,
      onFatal: () => undefined,
      logger,
    });
    const got: string[] = [];
    b = new SignalingChannelRunner({
      channel: new AckedSignalingChannel({ key, isOutgoing: false, timings }),
      sendPacket: () => undefined,
      onMessage: (m) => {
        got.push(new TextDecoder().decode(m));
        throw new Error('message listener bug');
      },
      onFatal: () => undefined,
      logger,
    });
    try {
      expect(() => a.send(new TextEncoder().encode('hello'))).not.toThrow();
      const deadline = Date.now() + 5_000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['hello']);
      expect(attempts).toBeGreaterThanOrEqual(3);
      expect(logged).toContain('signaling channel sendPacket threw');
      expect(logged).toContain('signaling channel onMessage threw');
      expect(uncaught.seen).toEqual([]);
    } finally {
      a.close();
      b.close();
      uncaught.stop();
    }
  });

  it('an onFatal that throws, called from its timer, does not escape either', async () => {
    const uncaught = watchUncaught();
    const logged: string[] = [];
    const logger = errorRecorder(logged);
    // A channel whose timer work exhausts it (as the 2^30 packet counter would).
    let fatal: CryptoError | undefined;
    const channel: SignalingChannel = {
      mode: 'acked',
      send: () => [],
      receive: () => ({ packets: [], messages: [] }),
      tick: () => {
        fatal = new CryptoError('COUNTER_LIMIT', 'exhausted');
        return [];
      },
      nextDeadline: () => (fatal ? undefined : Date.now() + 5),
      getStats: () => new AckedSignalingChannel({ key, isOutgoing: true }).getStats(),
      get fatalError() {
        return fatal;
      },
    };
    let fatals = 0;
    const runner = new SignalingChannelRunner({
      channel,
      sendPacket: () => undefined,
      onMessage: () => undefined,
      onFatal: () => {
        fatals += 1;
        throw new Error('fatal handler bug');
      },
      logger,
    });
    try {
      runner.send(new Uint8Array([1])); // arms the timer
      const deadline = Date.now() + 2_000;
      while (fatals === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(fatals).toBe(1);
      expect(logged).toEqual(['signaling channel onFatal threw']);
      expect(uncaught.seen).toEqual([]);
    } finally {
      runner.close();
      uncaught.stop();
    }
  });
});

describe('signaling channel runner: a peer that acks nothing', () => {
  it('ends through onFatal with SIGNALING_NOT_ACKED after noAckTimeoutMs, having resent a bounded number of times', async () => {
    const before = activeTimers();
    const sent: Uint8Array[] = [];
    const fatal: string[] = [];
    const runner = new SignalingChannelRunner({
      channel: new AckedSignalingChannel({ key, isOutgoing: true, timings, limits: { noAckTimeoutMs: 300 } }),
      sendPacket: (p) => sent.push(p), // into the void: nothing is ever acked
      onMessage: () => {},
      onFatal: (e) => fatal.push(e.code),
    });
    runner.send(new TextEncoder().encode('{"@type":"InitialSetup"}'));
    const deadline = Date.now() + 10_000;
    while (fatal.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fatal).toEqual(['SIGNALING_NOT_ACKED']);
    // first sending + one resend per resendTimeoutMs (40 ms) at most, until 300 ms
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(1 + Math.ceil(300 / timings.minResendDelayMs));
    // the runner closed itself: no timer left, later input ignored
    await new Promise((r) => setTimeout(r, 5));
    expect(activeTimers()).toBeLessThanOrEqual(before);
    runner.send(new Uint8Array([1]));
    expect(fatal).toHaveLength(1);
  });
});
