/** The fake reflector's routing rules (reflector.md §3.5), without sockets. */
import { describe, expect, it } from 'vitest';
import { ReflectorRouter, type ReflectorRouterOptions, type ReflectorSink } from '../../src/fake/reflector-router.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import {
  encodeData,
  encodeTcpHello,
  encodeUdpHello,
  parseServerDatagram,
  REFLECTOR_SELF_INFO_LENGTH,
} from '../../src/network/reflector-codec.js';

const TAG_A = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const TAG_B = new Uint8Array(Buffer.from('01112233445566778899aabbccddeeff', 'hex')); // byte 0 differs
const A: ReflectorSink = { transport: 'udp', key: 'udp|10.0.0.1|1000', endpoint: { address: '10.0.0.1', port: 1000 } };
const B: ReflectorSink = { transport: 'udp', key: 'udp|10.0.0.2|2000', endpoint: { address: '10.0.0.2', port: 2000 } };
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function router(options: ReflectorRouterOptions = {}, seed = 1): ReflectorRouter {
  return new ReflectorRouter({ unixTime: () => 1_700_000_000, ...options }, new SeededRandom(seed));
}

describe('ReflectorRouter', () => {
  it('answers a UDP hello with SELF_INFO to the sender and learns it', () => {
    const r = router();
    const [reply, ...rest] = r.handle(encodeUdpHello(TAG_A, 11), A);
    expect(rest).toEqual([]);
    expect(reply!.sink).toBe(A);
    expect(reply!.data.length).toBe(REFLECTOR_SELF_INFO_LENGTH);
    expect(toHex(reply!.data.subarray(0, 16))).toBe(toHex(encodeUdpHello(TAG_A, 11).subarray(0, 16)));
    expect(parseServerDatagram(reply!.data, TAG_A)).toEqual({ kind: 'special' });
    expect(r.clientList()).toEqual([{ id: 11, tag: toHex(TAG_A.subarray(0, 12)), transport: 'udp', address: '10.0.0.1:1000', hellos: 1, dataIn: 0, dataOut: 0 }]);
  });

  it('forwards DATA to (group, dstId), rewriting bytes 0..11 to the receiver tag, the rest unchanged', () => {
    const r = router();
    r.handle(encodeUdpHello(TAG_A, 11), A);
    r.handle(encodeUdpHello(TAG_B, 22), B);
    const sent = encodeData(TAG_A, 22, 11, Uint8Array.of(1, 2, 3));
    const [out] = r.handle(sent, A);
    expect(out!.sink).toBe(B);
    expect(toHex(out!.data)).toBe(toHex(TAG_B.subarray(0, 12)) + toHex(sent.subarray(12)));
    expect(parseServerDatagram(out!.data, TAG_B)).toEqual({ kind: 'data', senderId: 11, payload: Uint8Array.of(1, 2, 3) });
    expect(r.counters).toMatchObject({ hellos: 2, data: 1, forwarded: 1 });
    expect(r.flows.get('11->22')).toEqual({ packets: 1, payloadBytes: 3 });
  });

  it('learns a sender from its DATA as well, and follows a client that moved', () => {
    const r = router();
    r.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(1)), A); // nobody at 22 yet
    expect(r.counters.noTarget).toBe(1);
    const A2: ReflectorSink = { ...A, key: 'udp|10.0.0.1|1001', endpoint: { address: '10.0.0.1', port: 1001 } };
    r.handle(encodeData(TAG_B, 11, 22, Uint8Array.of(2)), B);
    expect(r.handle(encodeData(TAG_B, 11, 22, Uint8Array.of(2)), B)[0]!.sink).toBe(A);
    r.handle(encodeUdpHello(TAG_A, 11), A2);
    expect(r.handle(encodeData(TAG_B, 11, 22, Uint8Array.of(3)), B)[0]!.sink).toBe(A2);
  });

  it('exact grouping does not pair tags that differ in byte 0; noRewrite forwards verbatim', () => {
    const exact = router({ group: 'exact' });
    exact.handle(encodeUdpHello(TAG_A, 11), A);
    exact.handle(encodeUdpHello(TAG_B, 22), B);
    expect(exact.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(1)), A)).toEqual([]);
    expect(exact.counters.noTarget).toBe(1);
    const verbatim = router({ noRewrite: true });
    verbatim.handle(encodeUdpHello(TAG_B, 22), B);
    const [out] = verbatim.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(1)), A);
    expect(parseServerDatagram(out!.data, TAG_B)).toEqual({ kind: 'drop', reason: 'wrong-tag' });
  });

  it('registers TCP hellos without a reply; ignores STUN, special, short, bad-length and junk', () => {
    const r = router();
    const T: ReflectorSink = { transport: 'tcp', key: 'tcp#1', endpoint: { address: '10.0.0.3', port: 3000 } };
    expect(r.handle(encodeTcpHello(TAG_A, 33), T)).toEqual([]);
    const stun = new Uint8Array(Buffer.from('000100002112a442000102030405060708090a0b', 'hex'));
    const bad = encodeData(TAG_A, 33, 1, Uint8Array.of(1));
    bad[23] = 40;
    for (const p of [stun, new Uint8Array(32).fill(0xff), new Uint8Array(3), bad, new Uint8Array(20)]) expect(r.handle(p, A)).toEqual([]);
    expect(r.counters).toMatchObject({ tcpHellos: 1, stun: 1, special: 1, short: 1, badLength: 1, unknown: 1, forwarded: 0 });
    expect(r.handle(encodeData(TAG_B, 33, 5, Uint8Array.of(9)), A)[0]!.sink).toBe(T);
  });

  it('seeded loss and duplication on forwarded DATA, visible in counters and flows', () => {
    const r = router({ loss: 0.1, duplicate: 0.1 }, 42);
    r.handle(encodeUdpHello(TAG_B, 22), B);
    let delivered = 0;
    for (let i = 0; i < 2000; i++) delivered += r.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(i & 0xff)), A).length;
    const c = r.counters;
    expect(c.data).toBe(2000);
    expect(c.lost + c.forwarded).toBe(2000);
    expect(delivered).toBe(c.forwarded + c.duplicated);
    expect(c.lost).toBeGreaterThan(140);
    expect(c.lost).toBeLessThan(260);
    expect(c.duplicated).toBeGreaterThan(120);
    expect(c.duplicated).toBeLessThan(240);
    expect(r.flows.get('11->22')!.packets).toBe(c.forwarded);
    // Same seed, same faults.
    const again = router({ loss: 0.1, duplicate: 0.1 }, 42);
    again.handle(encodeUdpHello(TAG_B, 22), B);
    for (let i = 0; i < 2000; i++) again.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(i & 0xff)), A);
    expect(again.counters.lost).toBe(c.lost);
  });

  it('paused: nothing answered or forwarded, everything counted', () => {
    const r = router();
    r.handle(encodeUdpHello(TAG_B, 22), B);
    r.paused = true;
    expect(r.handle(encodeUdpHello(TAG_A, 11), A)).toEqual([]);
    expect(r.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(1)), A)).toEqual([]);
    expect(r.counters.whilePaused).toBe(2);
    r.paused = false;
    expect(r.handle(encodeData(TAG_A, 22, 11, Uint8Array.of(1)), A)).toHaveLength(1);
  });

  it('bounded tables: clients beyond the cap are refused and counted', () => {
    const r = router({ maxClients: 4 });
    for (let id = 1; id <= 10; id++) r.handle(encodeUdpHello(TAG_A, id), A);
    expect(r.clientList()).toHaveLength(4);
    expect(r.counters.tableFull).toBe(6);
  });

  it('hostile injections target a learned client and each fails its check in the client parser', () => {
    const r = router({}, 3);
    r.handle(encodeUdpHello(TAG_A, 11), A);
    expect(r.inject(99, 'garbage')).toEqual([]);
    const verdict = (kind: 'garbage' | 'wrong-tag' | 'bad-length' | 'short'): unknown => {
      const [send] = r.inject(11, kind);
      expect(send!.sink).toBe(A);
      return parseServerDatagram(send!.data, TAG_A);
    };
    expect(verdict('wrong-tag')).toEqual({ kind: 'drop', reason: 'wrong-tag' });
    expect(verdict('bad-length')).toEqual({ kind: 'drop', reason: 'bad-length' });
    expect(verdict('short')).toEqual({ kind: 'drop', reason: 'short' });
    expect(verdict('garbage')).toEqual({ kind: 'drop', reason: 'wrong-tag' });
    expect(r.counters.injected).toBe(4);
  });

  it('fuzz: random bytes never throw', () => {
    const random = new SeededRandom(8);
    const r = router({ loss: 0.2, duplicate: 0.2 });
    r.handle(encodeUdpHello(TAG_A, 11), A);
    for (let i = 0; i < 20_000; i++) {
      const p = random.bytes(random.nextUint32() % 90);
      if (i % 3 === 0 && p.length >= 12) p.set(TAG_B.subarray(0, 12));
      r.handle(p, i % 2 ? A : B);
    }
    expect(r.counters.received).toBe(20_001);
  });
});
