/**
 * Server-reflexive discovery on a virtual clock against scripted STUN server answers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import { StunBindingClient } from '../../src/network/stun-binding.js';
import { transactionTimeoutMs, CALL_SETUP_RETRANSMIT } from '../../src/network/stun-transaction.js';
import {
  StunAttr,
  StunMethod,
  buildStun,
  encodeAddress,
  encodeErrorCode,
  parseStun,
  type StunAttributeInit,
  type StunMessage,
} from '../../src/network/stun.js';

const SERVER = { address: '198.51.100.10', port: 3478 };
const MAPPED = { address: '203.0.113.9', port: 61000 };

function client(server = SERVER): StunBindingClient {
  const random = new SeededRandom(7);
  return new StunBindingClient({ server, random: (n) => random.bytes(n) });
}

function request(data: Uint8Array): StunMessage {
  const m = parseStun(data);
  if (!m.ok) throw new Error(m.reason);
  return m;
}

function answer(req: StunMessage, attributes: StunAttributeInit[], cls: 'success' | 'error' = 'success', fingerprint = true): Uint8Array {
  return buildStun({ method: StunMethod.BINDING, cls, transactionId: req.transactionId, attributes, fingerprint });
}

const xorMapped = (req: StunMessage, e = MAPPED): StunAttributeInit => ({ type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress(e, req.transactionId) });

describe('StunBindingClient', () => {
  it('sends a Binding request with FINGERPRINT to the server', () => {
    const c = client();
    const step = c.start(1000);
    expect(step.send).toHaveLength(1);
    expect(step.send[0]!.to).toEqual(SERVER);
    const req = request(step.send[0]!.data);
    expect([req.method, req.cls, req.fingerprintOffset > 0]).toEqual([StunMethod.BINDING, 'request', true]);
    expect(c.state).toBe('pending');
  });

  it('retransmits at 0, 100, 300, 700, 1500, 3100, 4700 ms, then times out at 6300 ms', () => {
    const c = client();
    const sentAt: number[] = [];
    let now = 0;
    const first = c.start(now);
    sentAt.push(now);
    const bytes = first.send[0]!.data;
    const events = [];
    for (let guard = 0; guard < 50 && c.nextDeadline() !== undefined; guard += 1) {
      now = c.nextDeadline()!;
      const step = c.tick(now);
      for (const d of step.send) {
        expect(d.data).toBe(bytes); // the same transaction, byte for byte
        sentAt.push(now);
      }
      events.push(...step.events);
    }
    expect(sentAt).toEqual([0, 100, 300, 700, 1500, 3100, 4700]);
    expect(now).toBe(6300);
    expect(transactionTimeoutMs(CALL_SETUP_RETRANSMIT)).toBe(6300);
    expect(events).toEqual([{ type: 'failed', code: 'STUN_TIMEOUT', reason: expect.stringContaining('7 transmissions') }]);
    expect(c.state).toBe('failed');
    expect(c.stats.transmissions).toBe(7);
    expect(c.tick(100_000).send).toHaveLength(0);
  });

  it('a tick before the deadline does nothing', () => {
    const c = client();
    c.start(0);
    expect(c.tick(99)).toEqual({ send: [], events: [] });
    expect(c.tick(100).send).toHaveLength(1);
  });

  it('reports the mapped address with the RTT when the first transmission was answered', () => {
    const c = client();
    const req = request(c.start(1000).send[0]!.data);
    const step = c.receive(answer(req, [xorMapped(req)]), SERVER, 1042);
    expect(step.events).toEqual([{ type: 'mapped', mapped: MAPPED, rttMs: 42 }]);
    expect(c.state).toBe('mapped');
    expect(c.mapped).toEqual(MAPPED);
    expect(c.nextDeadline()).toBeUndefined();
  });

  it("gives no RTT after a retransmission (Karn's rule) and accepts the answer to any copy", () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    c.tick(100);
    expect(c.receive(answer(req, [xorMapped(req)]), SERVER, 180).events).toEqual([{ type: 'mapped', mapped: MAPPED, rttMs: undefined }]);
  });

  it('drops what is not the answer: other sources, other transactions, bad fingerprints, junk, requests', () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    const good = answer(req, [xorMapped(req)]);
    expect(c.receive(good, { address: SERVER.address, port: 3479 }, 10).events).toEqual([]);
    const other = request(buildStun({ method: 1, cls: 'request', transactionId: new Uint8Array(12).fill(9) }));
    expect(c.receive(answer(other, [xorMapped(other)]), SERVER, 10).events).toEqual([]);
    const badFp = good.slice();
    badFp[badFp.length - 1]! ^= 1;
    expect(c.receive(badFp, SERVER, 10).events).toEqual([]);
    expect(c.receive(new Uint8Array([1, 2, 3]), SERVER, 10).events).toEqual([]);
    expect(c.receive(buildStun({ method: 1, cls: 'request', transactionId: req.transactionId }), SERVER, 10).events).toEqual([]);
    expect(c.receive(buildStun({ method: StunMethod.ALLOCATE, cls: 'success', transactionId: req.transactionId }), SERVER, 10).events).toEqual([]);
    expect(c.stats.dropped).toEqual({ unknownSource: 1, notStun: 1, unexpected: 3, badFingerprint: 1 });
    expect(c.state).toBe('pending');
    expect(c.receive(good, SERVER, 20).events[0]).toMatchObject({ type: 'mapped' });
    // a duplicate answer after the result is a counted drop
    expect(c.receive(good, SERVER, 30).events).toEqual([]);
    expect(c.stats.dropped.unexpected).toBe(4);
  });

  it('accepts an answer without FINGERPRINT and a plain MAPPED-ADDRESS from an old server', () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    const step = c.receive(answer(req, [{ type: StunAttr.MAPPED_ADDRESS, value: encodeAddress(MAPPED) }], 'success', false), SERVER, 5);
    expect(step.events).toEqual([{ type: 'mapped', mapped: MAPPED, rttMs: 5 }]);
  });

  it('fails with the error code of an error response', () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    const step = c.receive(answer(req, [{ type: StunAttr.ERROR_CODE, value: encodeErrorCode(420, 'Unknown Attribute') }], 'error'), SERVER, 5);
    expect(step.events).toEqual([{ type: 'failed', code: 'STUN_ERROR_RESPONSE', status: 420, reason: '420 Unknown Attribute' }]);
    expect(c.nextDeadline()).toBeUndefined();
  });

  it('fails on a success without a usable address', () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    const broken = { type: StunAttr.XOR_MAPPED_ADDRESS, value: Uint8Array.of(0, 7, 0, 0, 1, 2, 3, 4) };
    expect(c.receive(answer(req, [broken]), SERVER, 5).events).toEqual([
      { type: 'failed', code: 'STUN_BAD_RESPONSE', reason: expect.stringContaining('MAPPED-ADDRESS') },
    ]);
  });

  it('IPv6 server and mapping; IPv4-mapped source address of a dual-stack socket matches', () => {
    const server = { address: '2001:db8::3478', port: 3478 };
    const mapped = { address: '2001:db8:1::99', port: 4000 };
    const c = client(server);
    const req = request(c.start(0).send[0]!.data);
    expect(c.receive(answer(req, [xorMapped(req, mapped)]), { address: '2001:DB8::3478', port: 3478 }, 3).events[0]).toEqual({ type: 'mapped', mapped, rttMs: 3 });
    const v4 = client();
    const r4 = request(v4.start(0).send[0]!.data);
    expect(v4.receive(answer(r4, [xorMapped(r4)]), { address: `::ffff:${SERVER.address}`, port: SERVER.port }, 3).events[0]).toMatchObject({ type: 'mapped' });
  });

  it('start() again runs a new transaction; answers to the old one are dropped', () => {
    const c = client();
    const first = request(c.start(0).send[0]!.data);
    c.receive(answer(first, [xorMapped(first)]), SERVER, 5);
    const second = request(c.start(10_000).send[0]!.data);
    expect(Buffer.compare(first.transactionId, second.transactionId)).not.toBe(0);
    expect(c.receive(answer(first, [xorMapped(first)]), SERVER, 10_010).events).toEqual([]);
    const moved = { address: '203.0.113.77', port: 1 };
    expect(c.receive(answer(second, [xorMapped(second, moved)]), SERVER, 10_020).events).toEqual([{ type: 'mapped', mapped: moved, rttMs: 20 }]);
  });

  it('close() leaves no deadline and ignores everything after', () => {
    const c = client();
    const req = request(c.start(0).send[0]!.data);
    expect(c.close(1)).toEqual({ send: [], events: [] });
    expect(c.nextDeadline()).toBeUndefined();
    expect(c.receive(answer(req, [xorMapped(req)]), SERVER, 2).events).toEqual([]);
    expect(c.start(3).send).toHaveLength(0);
    expect(c.state).toBe('closed');
  });

  it('takes a custom retransmission policy and refuses a nonsensical one', () => {
    const random = new SeededRandom(1);
    const c = new StunBindingClient({ server: SERVER, random: (n) => random.bytes(n), retransmit: { maxTransmissions: 2, initialRtoMs: 50, finalWaitMs: 200 } });
    c.start(0);
    expect(c.nextDeadline()).toBe(50);
    c.tick(50);
    expect(c.nextDeadline()).toBe(250);
    expect(c.tick(250).events[0]).toMatchObject({ type: 'failed', code: 'STUN_TIMEOUT' });
    expect(() => new StunBindingClient({ server: SERVER, retransmit: { initialRtoMs: 0 } })).toThrow(RangeError);
    expect(() => new StunBindingClient({ server: SERVER, retransmit: { maxTransmissions: 1000 } })).toThrow(RangeError);
  });
});
