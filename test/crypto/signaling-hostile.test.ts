/**
 * The acked signaling channel against a peer that holds the call key and sends whatever it likes
 * (issue 15, defects 3 and 4; the figures are in bench/signaling-hostile.ts). Everything runs on a
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
const customSeqs = (packet: Uint8Array) => messagesOf(packet, 0x7f);

describe('defect 3: the work one peer can cause is bounded', () => {
  it('a 128 KiB packet of 14 561 empty ack-requiring messages: the message budget is read, the rest left unread', () => {
    const channel = victim();
    const { packet, count } = new HostilePeer(key, false).serviceWith(() => none);
    expect(count).toBe(14_561);
    const out = channel.receive(packet, 0);
    expect(out.messages).toEqual([]); // an empty payload is never a JSON message: dropped here, not parsed upstream
    const read = limits.incomingMessages.capacity;
    expect(channel.getStats().dropped.payload).toBe(read);
    expect(channel.getStats().dropped.budget).toBe(count - read);
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
    expect(channel.getStats().dropped.duplicate).toBe(limits.maxPendingAcks);
    expect(channel.getStats().dropped.budget).toBe(14_000 - limits.maxPendingAcks);
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
      expect(channel.getStats().dropped.budget).toBeGreaterThanOrEqual(offered - 2);
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
    expect(channel.getStats().dropped.payload).toBeLessThanOrEqual(2);
    expect(channel.getStats().dropped.budget).toBeGreaterThanOrEqual(95);
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
    expect(channel.getStats().dropped.budget).toBeGreaterThanOrEqual(495);
  });

  it('a payload over the 2 MiB cap of §5.5 is dropped and acked (so it is not resent forever)', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    channel.receive(peer.packet([{ counter: 7, payload: bomb('gzip', MAX_INFLATED_PAYLOAD + 1) }]), 0);
    expect(channel.getStats().dropped.payload).toBe(1);
    expect(channel.pendingAckCount).toBe(1);
  });
});

describe('defect 4: what we send to a peer that does not ack is bounded', () => {
  /** The peer sends one small offer per `spacingMs` and never acks; we answer each with 600 bytes. */
  function neverAcks(offers: number, spacingMs: number, channel = victim()) {
    const peer = new HostilePeer(key, false);
    const answer = new Uint8Array(600).fill(0x20);
    const sent: { at: number; bytes: number }[] = [];
    const emit = (packets: Uint8Array[], at: number) => packets.forEach((p) => sent.push({ at, bytes: p.length }));
    let now = 0;
    for (let i = 0; i < offers && !channel.fatalError; i++, now += spacingMs) {
      const out = channel.receive(peer.single(text(`{"@type":"NegotiateChannels","exchangeId":"${i}"}`)), now);
      for (const _ of out.messages) emit(channel.send(answer, now), now);
      for (let t = now; t < now + spacingMs; t += Math.min(spacingMs, 50)) emit(channel.tick(t), t);
    }
    return { channel, sent, now };
  }

  it('2 000 offers 5 ms apart: packets and bytes stay within the outgoing budget, and the call ends', () => {
    const { channel, sent, now } = neverAcks(2000, 5);
    const seconds = now / 1000;
    expect(sent.length).toBeLessThanOrEqual(limits.outgoingPackets.capacity + seconds * limits.outgoingPackets.perSecond);
    const bytes = sent.reduce((n, p) => n + p.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(limits.outgoingBytes.capacity + seconds * limits.outgoingBytes.perSecond);
    expect(channel.fatalError?.code).toBe('TOO_MANY_UNACKED'); // our answers piled up unacked
    expect(channel.tick(now + 60_000)).toEqual([]);
  });

  it('one offer a second, never acked: the call ends after noAckTimeoutMs with SIGNALING_NOT_ACKED', () => {
    const { channel, now } = neverAcks(600, 1000);
    expect(channel.fatalError?.code).toBe('SIGNALING_NOT_ACKED');
    expect(now).toBeLessThanOrEqual(limits.noAckTimeoutMs + 1000);
    expect(channel.nextDeadline()).toBeUndefined();
  });

  it('a peer that acks slowly but steadily is never ended', () => {
    const channel = victim();
    const peer = new HostilePeer(key, false);
    const acks: { at: number; seqs: number[] }[] = [];
    for (let now = 0; now < 10 * limits.noAckTimeoutMs; now += 1000) {
      // a message of ours every 20 s, each acked 45 s later: the queue is never empty
      if (now % 20_000 === 0) {
        for (const p of channel.send(text(`{"@type":"Candidates","n":${now}}`), now)) acks.push({ at: now + 45_000, seqs: customSeqs(p) });
      }
      while (acks[0] && acks[0].at <= now) channel.receive(peer.packet([], acks.shift()!.seqs), now);
      channel.tick(now);
    }
    expect(channel.unackedCount).toBeGreaterThan(0);
    expect(channel.fatalError).toBeUndefined();
  });

  it('while the unacked queue fills a packet, new messages do not resend its head', () => {
    const channel = victim();
    const big = new Uint8Array(12_000).fill(0x20);
    expect(channel.send(big, 0)).toHaveLength(1);
    let sent = channel.send(big, 10).length; // cannot join the first in one packet
    for (let i = 0; i < 20; i++) sent += channel.send(text('{"@type":"Candidates"}'), 20 + i).length;
    expect(sent).toBe(0); // each send repeated the 12 KiB head before the fix
    expect(channel.unackedCount).toBe(22);
    // the head leaves again with the resend timer, alone in its packet
    const resent = channel.tick(channel.nextDeadline()!);
    expect(resent.map(customSeqs)).toEqual([[(1 | REQUIRES_ACK_BIT) >>> 0]]);
  });

  it('a resend timer that fires before anything is due is re-armed (the queue is not left waiting)', () => {
    const channel = victim();
    channel.send(text('one'), 0); // lost; resend timer at 5 000
    channel.send(text('two'), 4000); // both leave again at 4 000
    expect(channel.tick(5000)).toEqual([]); // nothing due before 4 000 + 3 000
    const next = channel.nextDeadline();
    expect(next).toBe(7000);
    const resent = channel.tick(next!);
    expect(resent.flatMap(customSeqs)).toHaveLength(2);
  });

  it('the outgoing budget delays and coalesces, never drops: a burst of 100 messages arrives complete and in order', () => {
    const a = victim();
    const b = new AckedSignalingChannel({ key, isOutgoing: false });
    const wire: { at: number; packet: Uint8Array; to: AckedSignalingChannel }[] = [];
    const got: string[] = [];
    let packets = 0;
    for (let now = 0; now < 60_000 && got.length < 100; now += 10) {
      if (now < 1000) {
        for (const p of a.send(text(`${now / 10}`), now)) (packets++, wire.push({ at: now + 100, packet: p, to: b }));
      }
      for (const item of wire.filter((w) => w.at <= now)) {
        wire.splice(wire.indexOf(item), 1);
        const out = item.to.receive(item.packet, now);
        if (item.to === b) got.push(...out.messages.map((m) => new TextDecoder().decode(m)));
      }
      for (const p of a.tick(now)) (packets++, wire.push({ at: now + 100, packet: p, to: b }));
      for (const p of b.tick(now)) wire.push({ at: now + 100, packet: p, to: a });
    }
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `${i}`));
    expect(packets).toBeLessThan(100);
    expect(a.getStats().sendsDeferred).toBeGreaterThan(0);
  });
});
