import { describe, expect, it } from 'vitest';
import {
  AckedSignalingChannel,
  fromHex,
  PacketCipher,
  RawSignalingChannel,
  toHex,
  type SignalingChannel,
  type SignalingChannelStats,
} from '../../src/crypto/index.js';
import { CryptoError } from '../../src/errors.js';
import { LossyLink, type LinkImpairment } from '../helpers/lossy-link.js';
import { callVectors, seededBytes, seededRandom } from '../helpers/vectors.js';

const v = callVectors();
const key = fromHex(v.key_hex);
const text = (s: string) => new TextEncoder().encode(s);
const json = (b: Uint8Array) => new TextDecoder().decode(b);

function body(hex: string): Uint8Array {
  return fromHex(hex.replace(/\s+/g, ''));
}

describe('acked signaling channel (8.0.0 / 9.0.0) against the vectors', () => {
  it('first caller message and the callee reply with a piggy-backed ack are byte-exact', () => {
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    const callee = new AckedSignalingChannel({ key, isOutgoing: false });
    const first = v.packets.find((p) => p.name === 'v2_caller_custom_seq1')!;
    const reply = v.packets.find((p) => p.name === 'v2_callee_custom_seq1_plus_ack')!;
    const firstPayload = fromHex(first.decrypted_body_hex).subarray(9);
    const replyPayload = fromHex(reply.decrypted_body_hex).subarray(9, 9 + 0x18);

    const packets = caller.send(firstPayload, 0);
    expect(packets.map(toHex)).toEqual([first.packet_hex]);

    const received = callee.receive(packets[0]!, 5);
    expect(received.messages.map(json)).toEqual([json(firstPayload)]);
    expect(received.packets).toEqual([]);
    expect(callee.nextDeadline()).toBe(5); // the ack is due at once

    const replyPackets = callee.send(replyPayload, 5);
    expect(replyPackets.map(toHex)).toEqual([reply.packet_hex]);
    expect(callee.nextDeadline()).not.toBe(5); // the ack went with the reply

    const back = caller.receive(replyPackets[0]!, 10);
    expect(back.messages.map(json)).toEqual(['{"@type":"InitialSetup"}']);
    expect(caller.unackedCount).toBe(0);
  });

  it('acks arrive in a service packet when nothing is sent back', () => {
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    const callee = new AckedSignalingChannel({ key, isOutgoing: false });
    const [packet] = caller.send(text('{"a":1}'), 0);
    callee.receive(packet!, 1);
    const service = callee.tick(1);
    expect(service).toHaveLength(1);
    const peek = new PacketCipher(key, true).decrypt(service[0]!);
    expect(peek.ok && toHex(peek.body)).toBe('00000001fe40000001ff');
    caller.receive(service[0]!, 2);
    expect(caller.unackedCount).toBe(0);
    expect(caller.nextDeadline()).toBeUndefined();
  });

  it('resends unacked messages 5 s later, keeps order, and stops once acked', () => {
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    const callee = new AckedSignalingChannel({ key, isOutgoing: false });
    caller.send(text('one'), 0); // lost
    const second = caller.send(text('two'), 100); // service packet with one, two
    expect(second).toHaveLength(1);
    expect(caller.nextDeadline()).toBe(5000);
    expect(caller.tick(4999)).toEqual([]);
    const resent = caller.tick(5000);
    expect(resent).toHaveLength(1);
    expect(caller.getStats().resends).toBe(2);
    // deliver only the resend: both messages, in order
    const got = callee.receive(resent[0]!, 5001);
    expect(got.messages.map(json)).toEqual(['one', 'two']);
    // the older duplicate (second) is now dropped as already received
    expect(callee.receive(second[0]!, 5002).messages).toEqual([]);
    for (const p of callee.tick(5002)) caller.receive(p, 5003);
    expect(caller.unackedCount).toBe(0);
    expect(caller.nextDeadline()).toBeUndefined();
  });

  it('refuses messages that cannot fit a signaling packet', () => {
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    expect(() => caller.send(new Uint8Array(16384), 0)).toThrow(CryptoError);
    expect(caller.send(new Uint8Array(16384 - 16 - 5 - 9), 0)).toHaveLength(1);
  });
});

/** Runs two channels over impaired links with a virtual clock until everything is delivered. */
function simulate(
  makeA: () => SignalingChannel,
  makeB: () => SignalingChannel,
  impairment: LinkImpairment,
  seed: number,
  count: number,
): { toB: string[]; toA: string[]; sentToB: string[]; sentToA: string[]; a: SignalingChannel; b: SignalingChannel } {
  const a = makeA();
  const b = makeB();
  const ab = new LossyLink<Uint8Array>(seed, impairment);
  const ba = new LossyLink<Uint8Array>(seed + 1000, impairment);
  const random = seededRandom(seed + 7);
  const sentToB: string[] = [];
  const sentToA: string[] = [];
  const toB: string[] = [];
  const toA: string[] = [];
  let now = 0;
  let nextSend = 0;
  let sends = 0;
  for (let step = 0; step < 200_000 && now < 600_000; step++) {
    if (sends < count * 2 && now >= nextSend) {
      const fromA = sends % 2 === 0;
      const payload = `${fromA ? 'a' : 'b'}-${sends}-${toHex(seededBytes(random, 1 + Math.floor(random() * 40)))}`;
      if (fromA) {
        sentToB.push(payload);
        for (const p of a.send(text(payload), now)) ab.send(p, now);
      } else {
        sentToA.push(payload);
        for (const p of b.send(text(payload), now)) ba.send(p, now);
      }
      sends++;
      nextSend = now + random() * 300;
    }
    for (const p of ab.deliver(now)) {
      const out = b.receive(p, now);
      toB.push(...out.messages.map(json));
      for (const q of out.packets) ba.send(q, now);
    }
    for (const p of ba.deliver(now)) {
      const out = a.receive(p, now);
      toA.push(...out.messages.map(json));
      for (const q of out.packets) ab.send(q, now);
    }
    for (const p of a.tick(now)) ab.send(p, now);
    for (const p of b.tick(now)) ba.send(p, now);
    const done = sends >= count * 2 && toB.length >= sentToB.length && toA.length >= sentToA.length;
    if (done && ab.inFlight === 0 && ba.inFlight === 0 && a.nextDeadline() === undefined && b.nextDeadline() === undefined) break;
    const candidates = [ab.nextDelivery(), ba.nextDelivery(), a.nextDeadline(), b.nextDeadline()];
    if (sends < count * 2) candidates.push(nextSend);
    const next = Math.min(...candidates.filter((x): x is number => x !== undefined));
    if (!Number.isFinite(next)) break;
    now = Math.max(now, next);
  }
  return { toB, toA, sentToB, sentToA, a, b };
}

describe('acked channel round trips over an impaired link', () => {
  const cases: Array<[string, LinkImpairment]> = [
    ['clean', {}],
    ['20% loss', { loss: 0.2 }],
    ['duplication', { duplicate: 0.3 }],
    ['reordering', { reorder: 0.3, reorderDelayMs: 2000, jitterMs: 50 }],
    ['loss + duplication + reordering', { loss: 0.25, duplicate: 0.2, reorder: 0.3, reorderDelayMs: 8000, jitterMs: 100 }],
  ];
  for (const [name, impairment] of cases) {
    it(`${name}: every message delivered exactly once, in order, both ways`, () => {
      for (let seed = 1; seed <= 6; seed++) {
        const r = simulate(
          () => new AckedSignalingChannel({ key, isOutgoing: true }),
          () => new AckedSignalingChannel({ key, isOutgoing: false }),
          impairment,
          seed,
          40,
        );
        expect(r.toB).toEqual(r.sentToB);
        expect(r.toA).toEqual(r.sentToA);
        expect((r.a as AckedSignalingChannel).unackedCount).toBe(0);
        expect((r.b as AckedSignalingChannel).unackedCount).toBe(0);
      }
    });
  }
});

describe('acked channel round trips with tight budgets (deferred sends, unread messages)', () => {
  // Far below the defaults, so that both budgets bind all the time: nothing may be lost,
  // duplicated or reordered because a packet waited or part of a packet was left unread.
  const limits = {
    incomingMessages: { capacity: 3, perSecond: 2 },
    outgoingPackets: { capacity: 2, perSecond: 2 },
    outgoingBytes: { capacity: 16384, perSecond: 2048 },
  };
  for (const [name, impairment] of [
    ['clean', {}],
    ['loss + duplication + reordering', { loss: 0.2, duplicate: 0.2, reorder: 0.3, reorderDelayMs: 3000, jitterMs: 100 }],
  ] as Array<[string, LinkImpairment]>) {
    it(`${name}: every message delivered exactly once, in order, both ways`, () => {
      for (let seed = 1; seed <= 4; seed++) {
        const r = simulate(
          () => new AckedSignalingChannel({ key, isOutgoing: true, limits }),
          () => new AckedSignalingChannel({ key, isOutgoing: false, limits }),
          impairment,
          seed,
          40,
        );
        expect(r.toB).toEqual(r.sentToB);
        expect(r.toA).toEqual(r.sentToA);
        expect(r.a.getStats().sendsDeferred + r.b.getStats().sendsDeferred).toBeGreaterThan(0);
        expect(r.a.getStats().dropped.budget + r.b.getStats().dropped.budget).toBeGreaterThan(0);
      }
    });
  }
});

describe('raw channel (7.0.0 framing)', () => {
  it('matches the raw vector and round-trips', () => {
    const vector = v.packets.find((p) => p.name === 'raw_v1_caller_seq1')!;
    const caller = new RawSignalingChannel({ key, isOutgoing: true });
    const callee = new RawSignalingChannel({ key, isOutgoing: false });
    const payload = fromHex(vector.decrypted_body_hex).subarray(4);
    const [packet] = caller.send(payload, 0);
    expect(toHex(packet!)).toBe(vector.packet_hex);
    expect(callee.receive(packet!, 0).messages.map(toHex)).toEqual([toHex(payload)]);
    expect(callee.receive(packet!, 0).messages).toEqual([]); // replay
    expect(callee.getStats().dropped.replay).toBe(1);
  });

  it('inflates a gzip payload (V3 vector) and delivers the JSON', () => {
    const vector = v.packets.find((p) => p.name === 'raw_v3_gzip_caller_seq2')!;
    const callee = new RawSignalingChannel({ key, isOutgoing: false });
    const out = callee.receive(fromHex(vector.packet_hex), 0);
    expect(out.messages).toHaveLength(1);
    expect(JSON.parse(json(out.messages[0]!))).toHaveProperty('@type');
  });

  it('with loss and reordering delivers only once, never duplicates', () => {
    const r = simulate(
      () => new RawSignalingChannel({ key, isOutgoing: true }),
      () => new RawSignalingChannel({ key, isOutgoing: false }),
      { loss: 0.2, duplicate: 0.3, reorder: 0.3, reorderDelayMs: 500 },
      3,
      60,
    );
    expect(new Set(r.toB).size).toBe(r.toB.length);
    expect(r.toB.every((m) => r.sentToB.includes(m))).toBe(true);
    expect(r.toB.length).toBeGreaterThan(r.sentToB.length * 0.6);
  });
});

describe('bad input is dropped, counted, and the channel keeps working', () => {
  // an authentic peer (same key, callee role) can produce any body it likes
  const forge = new PacketCipher(key, false);
  const cases: Array<[string, () => Uint8Array, keyof SignalingChannelStats['dropped']]> = [
    ['truncated packet', () => forge.encrypt(body('00000001fe')).subarray(0, 20), 'size'],
    ['oversize packet', () => new Uint8Array(128 * 1024 + 1), 'size'],
    ['flipped bit in msg_key', () => flip(forge.encrypt(body('00000001fe 40000001ff')), 3), 'msgKey'],
    ['flipped bit in body', () => flip(forge.encrypt(body('00000001fe 40000001ff')), 18), 'msgKey'],
    ['unknown type byte', () => forge.encrypt(body('4000000170 00000001 41')), 'malformed'],
    ['length past the end', () => forge.encrypt(body('400000017f 00000010 4142')), 'malformed'],
    ['length over 1 MiB', () => forge.encrypt(body('400000017f 00100001 4142')), 'malformed'],
    ['0xFF first', () => forge.encrypt(body('40000001ff')), 'malformed'],
    ['0xFE not first', () => forge.encrypt(body('400000017f 00000001 41 00000002fe')), 'malformed'],
    ['trailing garbage under 5 bytes', () => forge.encrypt(body('00000001fe 0102')), 'malformed'],
    ['single-message bit then more', () => forge.encrypt(body('c00000017f 00000001 41 40000001ff')), 'malformed'],
    ['bad gzip payload', () => forge.encrypt(body('00000032fe 000000337f 00000004 1f8b0102')), 'payload'],
    ['random garbage', () => seededBytes(seededRandom(9), 300), 'msgKey'],
  ];
  for (const [name, make, reason] of cases) {
    it(name, () => {
      const caller = new AckedSignalingChannel({ key, isOutgoing: true });
      const bad = make();
      let out: ReturnType<AckedSignalingChannel['receive']> | undefined;
      expect(() => {
        out = caller.receive(bad, 0);
      }).not.toThrow();
      expect(out!.messages).toEqual([]);
      expect(caller.getStats().dropped[reason]).toBe(1);
      // still works: a proper message from the peer is delivered
      const peer = new AckedSignalingChannel({ key, isOutgoing: false });
      const good = caller.receive(peer.send(text('{"ok":true}'), 1)[0]!, 1);
      expect(good.messages.map(json)).toEqual(['{"ok":true}']);
    });
  }

  it('a replayed packet is dropped and counted', () => {
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    const peer = new AckedSignalingChannel({ key, isOutgoing: false });
    const [packet] = peer.send(text('x'), 0);
    expect(caller.receive(packet!, 0).messages).toHaveLength(1);
    expect(caller.receive(packet!, 1).messages).toHaveLength(0);
    expect(caller.getStats().dropped.replay).toBe(1);
  });

  it('random bodies from an authentic peer never throw', () => {
    const random = seededRandom(77);
    const caller = new AckedSignalingChannel({ key, isOutgoing: true });
    for (let i = 0; i < 2000; i++) {
      const size = 5 + Math.floor(random() * 60);
      const b = seededBytes(random, size);
      // bias towards valid-looking type bytes
      b[4] = [0x7f, 0xfe, 0xff, b[4]!][Math.floor(random() * 4)]!;
      expect(() => caller.receive(forge.encrypt(b), i)).not.toThrow();
    }
    expect(() => caller.tick(1e9)).not.toThrow();
  });
});

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[index] = out[index]! ^ 0x10;
  return out;
}
