import { describe, expect, it } from 'vitest';
import { AckedSignalingChannel, fromHex, SignalingChannelRunner } from '../../src/crypto/index.js';
import { callVectors, seededRandom } from '../helpers/vectors.js';

const key = fromHex(callVectors().key_hex);
const timings = { minResendDelayMs: 20, resendTimeoutMs: 40, ackDelayMs: 30 };

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
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
});
