/**
 * Nothing on the receive path throws, whatever arrives: random bytes, valid messages with random
 * mutations (bit flips, truncation, extension, length fields), and random but well-framed STUN
 * messages with random attribute types and values, through every decoder and both clients.
 * Seeded, so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { fixZeroTiebreaker, rewriteMappedAddress, verifyIceRequest } from '../../src/network/ice-check.js';
import { StunBindingClient } from '../../src/network/stun-binding.js';
import {
  StunAttr,
  buildStun,
  decodeAddress,
  decodeChannelNumber,
  decodeErrorCode,
  decodeText,
  decodeU32,
  decodeU64,
  encodeAddress,
  encodeText,
  encodeU32,
  encodeU64,
  isStunPacket,
  parseStun,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttributeInit,
} from '../../src/network/stun.js';
import { parseChannelData } from '../../src/network/turn-messages.js';
import { SERVER, ScriptedTurn, newClient } from './scripted-turn.js';

const rng = new SeededRandom(20261201);
const int = (n: number): number => Math.floor(rng.next() * n);
const id = new Uint8Array(12).fill(3);
const PWD = 'pwd-for-fuzzing-checks';

const ATTR_TYPES = [...Object.values(StunAttr), 0x0000, 0x7fff, 0x8000, 0xffff];

function seeds(): Uint8Array[] {
  const attrs: StunAttributeInit[] = [
    { type: StunAttr.USERNAME, value: encodeText('ufrag:peer') },
    { type: StunAttr.ICE_CONTROLLING, value: encodeU64(0n) },
    { type: StunAttr.PRIORITY, value: encodeU32(1) },
    { type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress({ address: '127.0.0.1', port: 5 }, id) },
    { type: StunAttr.XOR_PEER_ADDRESS, value: encodeAddress({ address: '2001:db8::1', port: 6 }, id) },
    { type: StunAttr.DATA, value: encodeText('payload') },
  ];
  return [
    buildStun({ method: 1, cls: 'request', transactionId: id, attributes: attrs, integrityKey: PWD, fingerprint: true }),
    buildStun({ method: 1, cls: 'success', transactionId: id, attributes: attrs, integrityKey: PWD }),
    buildStun({ method: 7, cls: 'indication', transactionId: id, attributes: attrs.slice(4) }),
    buildStun({ method: 3, cls: 'error', transactionId: id, attributes: [{ type: StunAttr.ERROR_CODE, value: Uint8Array.of(0, 0, 4, 1) }], fingerprint: true }),
    Uint8Array.of(0x40, 0x00, 0x00, 0x03, 1, 2, 3),
  ];
}

function mutate(seed: Uint8Array): Uint8Array {
  const b = seed.slice();
  switch (int(5)) {
    case 0:
      for (let k = 0, n = 1 + int(4); k < n; k += 1) {
        const at = int(b.length);
        b[at] = b[at]! ^ (1 << int(8));
      }
      return b;
    case 1:
      return b.subarray(0, int(b.length + 1));
    case 2: {
      const longer = new Uint8Array(b.length + 1 + int(16));
      longer.set(b);
      longer.set(rng.bytes(longer.length - b.length), b.length);
      return longer;
    }
    case 3: {
      // a random attribute length, header length kept consistent so the parser walks into it
      const at = 20 + 4 * int(Math.max(1, (b.length - 20) / 4));
      if (at + 4 <= b.length) {
        b[at + 2] = int(256);
        b[at + 3] = int(256);
      }
      return b;
    }
    default:
      b[2] = int(256);
      b[3] = int(256);
      return b;
  }
}

function wellFramed(): Uint8Array {
  const attributes: StunAttributeInit[] = [];
  for (let k = 0, n = int(8); k < n; k += 1) {
    attributes.push({ type: ATTR_TYPES[int(ATTR_TYPES.length)]!, value: rng.bytes(int(3) === 0 ? int(40) : [4, 8, 20][int(3)]!) });
  }
  return buildStun({
    method: int(0x1000),
    cls: (['request', 'indication', 'success', 'error'] as const)[int(4)]!,
    transactionId: rng.bytes(12),
    attributes,
    ...(int(2) === 0 ? { integrityKey: PWD } : {}),
    fingerprint: int(2) === 0,
  });
}

/** Runs everything on `bytes`; returns the error if anything threw (one `expect` per batch keeps this fast). */
function exercise(bytes: Uint8Array, binding: StunBindingClient, turn: ReturnType<typeof newClient>): unknown {
  try {
    exerciseAll(bytes, binding, turn);
    return undefined;
  } catch (err) {
    return { err, hex: Buffer.from(bytes).toString('hex') };
  }
}

function exerciseAll(bytes: Uint8Array, binding: StunBindingClient, turn: ReturnType<typeof newClient>): void {
  isStunPacket(bytes);
  parseChannelData(bytes);
  const m = parseStun(bytes);
  if (m.ok) {
    verifyIntegrity(m, PWD);
    verifyFingerprint(m);
    for (const a of m.attributes) {
      const v = bytes.subarray(a.offset, a.offset + a.length);
      decodeAddress(v);
      decodeAddress(v, m.transactionId);
      decodeErrorCode(v);
      decodeText(v);
      decodeU32(v);
      decodeU64(v);
      decodeChannelNumber(v);
    }
  }
  verifyIceRequest(bytes, 'ufrag', PWD);
  fixZeroTiebreaker(bytes, PWD, 7n);
  rewriteMappedAddress(bytes, { address: '198.51.100.1', port: 9 }, PWD);
  binding.receive(bytes, { address: '192.0.2.1', port: 3478 }, 1);
  turn.receive(bytes, SERVER, 1);
}

describe('fuzz: the receive path never throws', () => {
  const binding = new StunBindingClient({ server: { address: '192.0.2.1', port: 3478 }, random: (n) => rng.bytes(n) });
  binding.start(0);
  const server = new ScriptedTurn();
  const turn = server.allocate(newClient());
  turn.send({ address: '2001:db8::1', port: 6 }, Uint8Array.of(1), 0);
  turn.send({ address: '127.0.0.1', port: 5 }, Uint8Array.of(1), 0);

  it('random bytes (20 000 datagrams of 0–120 bytes, a quarter with a STUN-looking header)', () => {
    const failures: unknown[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const b = rng.bytes(int(121));
      if (i % 4 === 0 && b.length >= 20) {
        b[0] = int(4);
        b.set([0x21, 0x12, 0xa4, 0x42], 4);
        b[2] = (b.length - 20) >> 8;
        b[3] = (b.length - 20) & 0xfc;
      }
      const failure = exercise(b, binding, turn);
      if (failure) failures.push(failure);
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it('mutated valid messages (20 000)', () => {
    const base = seeds();
    const failures: unknown[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const failure = exercise(mutate(base[i % base.length]!), binding, turn);
      if (failure) failures.push(failure);
    }
    expect(failures.slice(0, 3)).toEqual([]);
  });

  it('well-framed messages with random attributes (10 000)', () => {
    const failures: unknown[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      const failure = exercise(wellFramed(), binding, turn);
      if (failure) failures.push(failure);
    }
    expect(failures.slice(0, 3)).toEqual([]);
    // the clients are still alive and bounded
    expect(turn.state).toBe('allocated');
    expect(binding.state === 'pending' || binding.state === 'failed' || binding.state === 'mapped').toBe(true);
  });
});
