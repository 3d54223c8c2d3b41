/**
 * The sans-I/O reflector client on a virtual clock: hello cadence (500 ms → 10 s), unreachable
 * and recovery, the acceptance rules of reflector.md §3.4, DATA both ways, TCP, counted drops.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import type { Endpoint } from '../../src/network/endpoint.js';
import { ReflectorClient, type ReflectorClientOptions, type ReflectorClientOutput } from '../../src/network/reflector-client.js';
import { encodeData, encodeSelfInfo, encodeUdpHello, parseClientPacket, REFLECTOR_MAX_UDP_PAYLOAD } from '../../src/network/reflector-codec.js';
import { encodeTcpFrame, TcpServerDeframer } from '../../src/network/tcp-framing.js';

const SERVER: Endpoint = { address: '10.78.0.1', port: 5555 };
const TAG = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function client(options: Partial<ReflectorClientOptions> = {}): ReflectorClient {
  return new ReflectorClient({ server: SERVER, serverId: 1, peerTag: TAG, random: () => 411335037, ...options });
}

/** Runs the client's timers from `from` to `to` (inclusive), collecting what it sends and emits. */
function runUntil(c: ReflectorClient, to: number, sink: { at: number; out: ReflectorClientOutput }[] = []): typeof sink {
  for (let i = 0; i < 10_000; i++) {
    const deadline = c.nextDeadline();
    if (deadline === undefined || deadline > to) break;
    sink.push({ at: deadline, out: c.tick(deadline) });
  }
  return sink;
}

function helloTimes(log: { at: number; out: ReflectorClientOutput }[]): number[] {
  return log.filter((e) => e.out.send.some((s) => parseClientPacket(s.data, 'udp').kind === 'hello')).map((e) => e.at);
}

function reply(c: ReflectorClient): Uint8Array {
  return encodeSelfInfo(encodeUdpHello(TAG, c.myId).subarray(0, 16), new Uint8Array(8), { address: '10.78.0.2', port: 40000 }, 0);
}

/** Like runUntil, with a live reflector answering every hello `rtt` ms later. */
function runAnswered(c: ReflectorClient, to: number, rtt = 10): { at: number; out: ReflectorClientOutput }[] {
  const log: { at: number; out: ReflectorClientOutput }[] = [];
  const replies: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const deadline = c.nextDeadline() ?? Infinity;
    const replyAt = replies[0] ?? Infinity;
    const at = Math.min(deadline, replyAt);
    if (at > to) break;
    const out = at === replyAt ? (replies.shift(), c.receive(reply(c), SERVER, at)) : c.tick(at);
    log.push({ at, out });
    if (out.send.some((s) => parseClientPacket(s.data, 'udp').kind === 'hello')) replies.push(at + rtt);
  }
  return log;
}

describe('UDP hello cadence and readiness', () => {
  it('hello at start, every 500 ms until READY, then every 10 s (tgcalls cadence)', () => {
    const c = client({ probeAfterSilenceMs: Infinity });
    const start = c.start(0);
    expect(start.send).toHaveLength(1);
    expect(toHex(start.send[0]!.data)).toBe(toHex(encodeUdpHello(TAG, 411335037)));
    expect(start.send[0]!.to).toEqual(SERVER);
    expect(c.state).toBe('connecting');
    expect(c.nextDeadline()).toBe(500);

    const log = runUntil(c, 1600);
    expect(helloTimes(log)).toEqual([500, 1000, 1500]);
    const ready = c.receive(reply(c), SERVER, 1600);
    expect(ready.events).toEqual([
      { type: 'ready', hostname: 'reflector-1-411335037.reflector', port: 5555 },
      { type: 'state', state: 'ready' },
    ]);
    const answered = runAnswered(c, 40_000);
    expect(helloTimes(answered)).toEqual([11_500, 21_500, 31_500]);
    expect(c.state).toBe('ready');
  });

  it('without probes a dead reflector is unreachable 5 s after the first unanswered 10 s hello', () => {
    const c = client({ probeAfterSilenceMs: Infinity });
    c.start(0);
    c.receive(reply(c), SERVER, 100);
    expect(helloTimes(runAnswered(c, 10_100))).toEqual([10_000]); // answered at 10 010
    const log = runUntil(c, 26_000); // the reflector dies: the hello at 20 000 goes unanswered
    expect(log.find((e) => e.out.events.length > 0)?.out.events).toEqual([{ type: 'state', state: 'unreachable' }]);
    expect(log.find((e) => e.out.events.length > 0)?.at).toBe(25_000);
    expect(helloTimes(log)).toEqual([20_000, 25_000, 25_500, 26_000]); // back to 500 ms while unreachable
  });

  it('becomes unreachable after 5 s without a valid datagram, keeps saying hello, recovers on a reply', () => {
    const c = client();
    c.start(0);
    const log = runUntil(c, 6000);
    const states = log.flatMap((e) => e.out.events.filter((ev) => ev.type === 'state').map((ev) => [e.at, ev]));
    expect(states).toEqual([[5000, { type: 'state', state: 'unreachable' }]]);
    expect(helloTimes(log)).toHaveLength(12); // 500..6000 every 500 ms
    expect(c.state).toBe('unreachable');
    const back = c.receive(reply(c), SERVER, 6100);
    expect(back.events.map((e) => e.type)).toEqual(['ready', 'state']);
    expect(c.state).toBe('ready');
    // Quiet but answering: probes 1 s after each answer, never unreachable again.
    expect(helloTimes(runAnswered(c, 10_000))).toEqual([7100, 8110, 9120]);
    expect(c.state).toBe('ready');
  });

  it('ready but silent: probes every 500 ms after 1 s, unreachable 5 s after the first unanswered hello, ready again on data', () => {
    const c = client();
    c.start(0);
    c.receive(reply(c), SERVER, 100);
    const log = runUntil(c, 6200);
    // Silent since 100: probes from 1100 on, every 500 ms; the first is unanswered for 5 s at 6100.
    expect(helloTimes(log)).toEqual([1100, 1600, 2100, 2600, 3100, 3600, 4100, 4600, 5100, 5600, 6100]);
    expect(log.find((e) => e.out.events.some((ev) => ev.type === 'state'))?.at).toBe(6100);
    expect(c.state).toBe('unreachable');
    const data = c.receive(encodeData(TAG, c.myId, 77, Uint8Array.of(1, 2, 3)), SERVER, 6300);
    expect(data.events).toEqual([
      { type: 'state', state: 'ready' },
      { type: 'data', senderId: 77, payload: Uint8Array.of(1, 2, 3) },
    ]);
  });

  it('a live reflector answers the probes: a quiet call stays ready at ~2 hellos per second', () => {
    const c = client();
    c.start(0);
    c.receive(reply(c), SERVER, 100);
    const log = runAnswered(c, 60_000);
    expect(log.some((e) => e.out.events.some((ev) => ev.type === 'state'))).toBe(false);
    expect(c.state).toBe('ready');
    // Probe, answer, 1 s of silence, probe: about one hello per second.
    expect(helloTimes(log).length).toBeGreaterThan(50);
    expect(helloTimes(log).length).toBeLessThan(70);
  });

  it('with traffic flowing no probe is ever sent', () => {
    const c = client();
    c.start(0);
    c.receive(reply(c), SERVER, 100);
    const log: { at: number; out: ReflectorClientOutput }[] = [];
    for (let t = 120; t < 30_000; t += 20) {
      runUntil(c, t, log);
      c.receive(encodeData(TAG, c.myId, 5, Uint8Array.of(t & 0xff)), SERVER, t);
    }
    expect(helloTimes(log)).toEqual([10_000, 20_000]);
    expect(c.state).toBe('ready');
  });
});

describe('acceptance (reflector.md §3.4) and counted drops', () => {
  it('only exactly the server endpoint, ≥ 16 bytes, our 12-byte tag; bytes 12..15 unchecked', () => {
    const c = client();
    c.start(0);
    const good = encodeData(TAG, 0xdeadbeef, 9, Uint8Array.of(1)); // bytes 12..15 not our id
    expect(c.receive(good, { address: '10.78.0.1', port: 5556 }, 1).events).toEqual([]);
    expect(c.receive(good, { address: '10.78.0.3', port: 5555 }, 1).events).toEqual([]);
    expect(c.receive(good.subarray(0, 15), SERVER, 1).events).toEqual([]);
    const wrong = good.slice();
    wrong[11] = wrong[11]! ^ 1;
    expect(c.receive(wrong, SERVER, 1).events).toEqual([]);
    expect(c.state).toBe('connecting');
    expect(c.stats.dropped).toMatchObject({ wrongSource: 2, short: 1, wrongTag: 1 });
    // IPv4-mapped form of the server address is the same endpoint.
    const ok = c.receive(good, { address: '::ffff:10.78.0.1', port: 5555 }, 2);
    expect(ok.events.at(-1)).toEqual({ type: 'data', senderId: 9, payload: Uint8Array.of(1) });
  });

  it('a bad length field is dropped but, as in tgcalls, proves the reflector alive (READY)', () => {
    const c = client();
    c.start(0);
    const bad = encodeData(TAG, c.myId, 9, Uint8Array.of(1, 2, 3, 4));
    bad[23] = 5;
    expect(c.receive(bad, SERVER, 1).events.map((e) => e.type)).toEqual(['ready', 'state']);
    expect(c.stats.dropped.badLength).toBe(1);
    expect(c.stats.dataIn).toBe(0);
  });

  it('fuzz: every datagram is either accepted or one counted drop, nothing throws', () => {
    const random = new SeededRandom(21);
    const c = client();
    c.start(0);
    const valid = encodeData(TAG, c.myId, 3, random.bytes(33));
    const sources: Endpoint[] = [SERVER, SERVER, SERVER, { address: '10.78.0.1', port: 1 }];
    const count = (): number => {
      const d = c.stats.dropped;
      return d.wrongSource + d.short + d.wrongTag + d.badLength + c.stats.dataIn + c.stats.repliesIn;
    };
    for (let i = 0; i < 10_000; i++) {
      let packet = i % 2 ? random.bytes(random.nextUint32() % 80) : valid.slice(0, random.nextUint32() % (valid.length + 1));
      if (i % 3 === 0) packet = packet.map((b) => (random.next() < 0.05 ? random.nextUint32() & 0xff : b));
      const before = count();
      c.receive(packet, sources[i % sources.length]!, i);
      expect(count()).toBe(before + 1);
    }
    expect(c.stats.packetsIn).toBe(10_000);
  });
});

describe('sending', () => {
  it('DATA to a peer id, before READY too (tgcalls SendTo does not wait)', () => {
    const c = client();
    c.start(0);
    const out = c.sendTo(42, Uint8Array.of(9, 8, 7), 1);
    expect(out.send).toHaveLength(1);
    expect(toHex(out.send[0]!.data)).toBe(toHex(encodeData(TAG, 42, c.myId, Uint8Array.of(9, 8, 7))));
    expect(c.stats).toMatchObject({ dataOut: 1, payloadBytesOut: 3, packetsOut: 2 });
  });

  it('bad peer ids and oversize payloads are counted drops, not throws', () => {
    const c = client();
    c.start(0);
    expect(c.sendTo(0, Uint8Array.of(1), 1).send).toEqual([]);
    expect(c.sendTo(2 ** 32, Uint8Array.of(1), 1).send).toEqual([]);
    expect(c.sendTo(1.5, Uint8Array.of(1), 1).send).toEqual([]);
    expect(c.sendTo(5, new Uint8Array(REFLECTOR_MAX_UDP_PAYLOAD + 1), 1).send).toEqual([]);
    expect(c.sendTo(5, new Uint8Array(REFLECTOR_MAX_UDP_PAYLOAD), 1).send[0]!.data.length).toBeLessThanOrEqual(65507);
    expect(c.stats.dropped).toMatchObject({ badPeerId: 3, tooLarge: 1 });
  });
});

describe('ids, candidate and close', () => {
  it('myId: injected random (zero redrawn), standalone 1 / 2, broken source refused', () => {
    const draws = [0, 0, 77];
    expect(client({ random: () => draws.shift()! }).myId).toBe(77);
    expect(client({ standaloneRole: 'caller' }).myId).toBe(1);
    expect(client({ standaloneRole: 'callee' }).myId).toBe(2);
    expect(() => client({ random: () => 0 })).toThrow(RangeError);
    const a = new ReflectorClient({ server: SERVER, serverId: 1, peerTag: TAG });
    expect(a.myId).toBeGreaterThan(0);
    expect(() => client({ peerTag: new Uint8Array(12) })).toThrow(RangeError);
    expect(() => client({ serverId: 256 })).toThrow(RangeError);
  });

  it('the candidate exists once READY', () => {
    const c = client();
    c.start(0);
    expect(c.localCandidate).toBeUndefined();
    expect(c.candidateLine('AQn9')).toBeUndefined();
    c.receive(reply(c), SERVER, 10);
    expect(c.localCandidate).toEqual({ hostname: 'reflector-1-411335037.reflector', port: 5555 });
    expect(c.candidateLine('AQn9', '2200557375')).toBe(
      'candidate:2200557375 1 udp 58655488 reflector-1-411335037.reflector 5555 typ relay generation 0 ufrag AQn9 network-id 1 network-cost 50',
    );
  });

  it('close: no goodbye, no timers, later input counted', () => {
    const c = client();
    c.start(0);
    expect(c.close(5)).toEqual({ send: [], events: [{ type: 'state', state: 'closed' }] });
    expect(c.nextDeadline()).toBeUndefined();
    expect(c.tick(10_000)).toEqual({ send: [], events: [] });
    expect(c.receive(reply(c), SERVER, 6).events).toEqual([]);
    expect(c.sendTo(1, Uint8Array.of(1), 7).send).toEqual([]);
    expect(c.stats.dropped.closed).toBe(2);
    expect(c.close(8).events).toEqual([]);
  });
});

describe('TCP', () => {
  const tcp = (): ReflectorClient => client({ transport: 'tcp' });

  it('nothing before the connection; unreachable when connecting takes 5 s', () => {
    const c = tcp();
    expect(c.start(0)).toEqual({ send: [], events: [] });
    expect(c.sendTo(5, Uint8Array.of(1), 1).send).toEqual([]);
    expect(c.stats.dropped.notConnected).toBe(1);
    expect(runUntil(c, 6000).flatMap((e) => e.out.events)).toEqual([{ type: 'state', state: 'unreachable' }]);
  });

  it('READY on connect, then prologue + 20-byte TCP hello, repeated every 10 s; DATA framed', () => {
    const c = tcp();
    c.start(0);
    const up = c.connected(100);
    expect(up.events).toEqual([
      { type: 'ready', hostname: 'reflector-1-411335037.reflector', port: 5555 },
      { type: 'state', state: 'ready' },
    ]);
    expect(toHex(up.send[0]!.data)).toBe('eeeeeeee' + '14000000' + '00112233445566778899aabb7d79841800000000');
    const server = new TcpServerDeframer();
    server.push(up.send[0]!.data);
    const log = runUntil(c, 30_200);
    expect(log.map((e) => e.at)).toEqual([10_100, 20_100, 30_100]);
    for (const e of log) expect(server.push(e.out.send[0]!.data).map((p) => parseClientPacket(p, 'tcp').kind)).toEqual(['tcp-hello']);
    const data = c.sendTo(9, Uint8Array.of(1, 2), 30_300);
    expect(server.push(data.send[0]!.data).map((p) => toHex(p))).toEqual([toHex(encodeData(TAG, 9, c.myId, Uint8Array.of(1, 2)))]);
    expect(c.candidateLine('abcd')).toContain(' udp 25101056 reflector-1-411335037.reflector 5555 typ relay ');
    expect(c.state).toBe('ready'); // no replies needed on TCP
  });

  it('frames split and merged arrive as DATA events; an oversize length breaks the stream', () => {
    const c = tcp();
    c.start(0);
    c.connected(1);
    const stream = Buffer.concat([
      encodeTcpFrame(encodeData(TAG, c.myId, 4, Uint8Array.of(1))),
      encodeTcpFrame(encodeData(TAG, c.myId, 4, Uint8Array.of(2))),
    ]);
    const events = [stream.subarray(0, 3), stream.subarray(3, 30), stream.subarray(30)].flatMap((part) => c.receive(new Uint8Array(part), SERVER, 2).events);
    expect(events).toEqual([
      { type: 'data', senderId: 4, payload: Uint8Array.of(1) },
      { type: 'data', senderId: 4, payload: Uint8Array.of(2) },
    ]);
    const broken = c.receive(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2), SERVER, 3);
    expect(broken.events).toEqual([{ type: 'stream-error', error: 'oversize' }]);
    expect(c.stats.dropped.framing).toBe(1);
    expect(c.receive(encodeTcpFrame(encodeData(TAG, c.myId, 4, Uint8Array.of(3))), SERVER, 4).events).toEqual([]);
  });

  it('disconnect → unreachable, no hellos; reconnect → ready again with a fresh prologue', () => {
    const c = tcp();
    c.start(0);
    c.connected(1);
    expect(c.disconnected(50).events).toEqual([{ type: 'state', state: 'unreachable' }]);
    expect(c.nextDeadline()).toBeUndefined();
    expect(c.sendTo(5, Uint8Array.of(1), 60).send).toEqual([]);
    const again = c.connected(70);
    expect(again.events).toEqual([{ type: 'state', state: 'ready' }]); // the candidate was announced once
    expect(toHex(again.send[0]!.data).startsWith('eeeeeeee14000000')).toBe(true);
  });
});
