/**
 * The acked signaling channel against a peer that holds the call key and sends whatever it likes
 * (issue 15, defect 3; the figures are in bench/signaling-hostile.ts). Everything runs on a
 * virtual clock: the bounds are asserted as counts and bytes, never as CPU time.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../src/crypto/acked-framing.js';
import { AckedSignalingChannel, fromHex, MAX_INFLATED_PAYLOAD, PacketCipher, RawSignalingChannel, REQUIRES_ACK_BIT } from '../../src/crypto/index.js';
import { DEFAULT_SIGNALING_LIMITS } from '../../src/crypto/signaling-limits.js';
import { bomb, HostilePeer } from '../helpers/hostile-signaling.js';
import { callVectors } from '../helpers/vectors.js';

const key = fromHex(callVectors().key_hex);
const text = (s: string) => new TextEncoder().encode(s);
const none = new Uint8Array(0);
const limits = DEFAULT_SIGNALING_LIMITS;

/** The channel under attack is the caller; the hostile peer is the callee. */
function victim(): AckedSignalingChannel {
  return new AckedSignalingChannel({ key, isOutgoing: true });
}

/** Our packets as the peer reads them. */
const peerView = new PacketCipher(key, false);
function messagesOf(packet: Uint8Array, type: 0x7f | 0xff): number[] {
  const decrypted = peerView.decrypt(packet);
  if (!decrypted.ok) throw new Error('undecryptable packet');
  return parseBody(decrypted.body)!
    .filter((m) => m.type === type)
    .map((m) => m.seq);
}

describe('defect 3: the work one peer can cause is bounded', () => {
  it('a 128 KiB packet of 14 561 empty ack-requiring messages: the message budget is read, the rest left unread', () => {
    const channel = victim();
    const { packet, count } = new HostilePeer(key, false).serviceWith(() => none);
    expect(count).toBe(14_561);
    const out = channel.receive(packet, 0);
    expect(out.messages).toEqual([]); // an empty payload is never a JSON message: dropped here, not parsed upstream
    const read = limits.incomingMessages.capacity;
    expect(channel.stats.dropped.payload).toBe(read);
    expect(channel.stats.dropped.budget).toBe(count - read);
    expect(channel.pendingAckCount).toBe(read); // only what was read is acked
  });

  it('17 such packets back to back: pending acks stay bounded and one packet flushes them', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    let sent = 0;
    let maxPending = 0;
    for (let i = 0; i < 17; i++) {
      if (i > 0) sent += channel.tick(i).length;
      channel.receive(peer.serviceWith(() => none).packet, i);
      maxPending = Math.max(maxPending, channel.pendingAckCount);
    }
    expect(maxPending).toBeLessThanOrEqual(limits.maxPendingAcks);
    expect(channel.pendingAckCount).toBeLessThanOrEqual(limits.incomingMessages.capacity);
    expect(sent).toBeLessThanOrEqual(2);
  });

  it('a packet of duplicates (already received) is acked at most maxPendingAcks at a time', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    channel.receive(peer.packet([{ counter: 1_000_000, payload: text('{}') }]), 0);
    channel.tick(0);
    // counters below the floor the first packet set: all duplicates, each asking for an ack
    const dupes = Array.from({ length: 14_000 }, (_, i) => ({ counter: 1_000_000 - 14_000 + i, payload: none }));
    channel.receive(peer.packet(dupes), 1);
    expect(channel.pendingAckCount).toBe(limits.maxPendingAcks);
    expect(channel.stats.dropped.duplicate).toBe(limits.maxPendingAcks);
    expect(channel.stats.dropped.budget).toBe(14_000 - limits.maxPendingAcks);
    expect(channel.nextDeadline()).toBe(1); // flushed at once
  });

  it('unread messages are not acked, so the peer resends them and each is delivered exactly once, in order', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    const total = 300;
    const message = (i: number) => ({ counter: 10 + i, payload: text(`{"n":${i}}`) });
    const first = channel.receive(peer.packet(Array.from({ length: total }, (_, i) => message(i))), 0);
    const readAtOnce = limits.incomingMessages.capacity;
    expect(first.messages).toHaveLength(readAtOnce);
    const acked = new Set(channel.tick(0).flatMap((p) => messagesOf(p, 0xff).map((seq) => seq & ~REQUIRES_ACK_BIT)));
    expect(acked.size).toBe(readAtOnce);
    // the peer resends what was not acked (oldest first), after its 3 s resend delay
    const rest = Array.from({ length: total }, (_, i) => message(i)).filter((m) => !acked.has(m.counter));
    const second = channel.receive(peer.packet(rest), 3000);
    const all = [...first.messages, ...second.messages].map((m) => JSON.parse(new TextDecoder().decode(m)).n);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  for (const kind of ['zlib', 'gzip'] as const) {
    it(`ten 128 KiB packets of ${kind} bombs inflate at most the budget, and an honest compressed message still gets through later`, () => {
      const channel = victim();
      const peer = new HostilePeer(key, false);
      const payload = bomb(kind);
      let inflated = 0;
      let offered = 0;
      for (let i = 0; i < 10; i++) {
        const { packet, count } = peer.serviceWith(() => payload);
        offered += count;
        for (const m of channel.receive(packet, i * 10).messages) inflated += m.length;
      }
      expect(offered).toBeGreaterThan(600); // 1.2 GiB before the fix
      const elapsedS = 0.09;
      expect(inflated).toBeLessThanOrEqual(limits.inflate.capacity + elapsedS * limits.inflate.perSecond);
      expect(channel.stats.dropped.budget).toBeGreaterThanOrEqual(offered - 2);
      // once the budget has refilled, a V3-style gzip JSON message is delivered
      const honest = new Uint8Array(gzipSync(text('{"@type":"Candidates","candidates":[]}')));
      const out = channel.receive(peer.packet([{ counter: 5_000_000, payload: honest }]), 5_000);
      expect(out.messages.map((m) => new TextDecoder().decode(m))).toEqual(['{"@type":"Candidates","candidates":[]}']);
    });
  }

  it('corrupt compressed payloads: a handful of inflate attempts, the rest counted without trying', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    const garbage = new Uint8Array(200).fill(0xa5);
    garbage[0] = 0x78;
    garbage[1] = 0x9c;
    channel.receive(peer.serviceWith(() => garbage, 100 * 220).packet, 0);
    expect(channel.stats.dropped.payload).toBeLessThanOrEqual(2);
    expect(channel.stats.dropped.budget).toBeGreaterThanOrEqual(95);
  });

  it('raw framing (7.0.0): a flood of bombs inflates at most the budget and the rest is counted', () => {
    const channel = new RawSignalingChannel({ key, isOutgoing: true });
    const forge = new PacketCipher(key, false);
    const payload = bomb('gzip');
    let inflated = 0;
    for (let i = 1; i <= 500; i++) {
      const body = new Uint8Array(4 + payload.length);
      new DataView(body.buffer).setUint32(0, i);
      body.set(payload, 4);
      for (const m of channel.receive(forge.encrypt(body), i).messages) inflated += m.length;
    }
    expect(inflated).toBeLessThanOrEqual(limits.inflate.capacity + 0.5 * limits.inflate.perSecond);
    expect(channel.stats.dropped.budget).toBeGreaterThanOrEqual(495);
  });

  it('a payload over the 2 MiB cap of §5.5 is dropped and acked (so it is not resent forever)', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    channel.receive(peer.packet([{ counter: 7, payload: bomb('gzip', MAX_INFLATED_PAYLOAD + 1) }]), 0);
    expect(channel.stats.dropped.payload).toBe(1);
    expect(channel.pendingAckCount).toBe(1);
  });
});
