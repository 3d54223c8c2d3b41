import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/network/endpoint.js';
import { parseIceCandidate } from '../../src/network/ice-candidate.js';
import { PathMux, type MuxOutput, type PathMuxOptions } from '../../src/network/path-mux.js';
import type { RelayPath, RelayPeer, RelayStep } from '../../src/network/relay-path.js';
import {
  buildStun,
  decodeAddress,
  encodeAddress,
  encodeText,
  encodeU32,
  encodeU64,
  parseStun,
  shortTermKey,
  StunAttr,
  StunMethod,
  attributeValue,
} from '../../src/network/stun.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';

const UFRAG = 'locl';
const PWD = 'localpasswordlocalpassword';
const PEER_UFRAG = 'peer';
const ENGINE: Endpoint = { address: '127.0.0.1', port: 50000 };
const PEER: Endpoint = { address: '10.0.0.2', port: 5000 };

function check(options: { pwd?: string; ufrag?: string; tiebreaker?: bigint; role?: 'controlling' | 'controlled' } = {}): Uint8Array {
  const role = options.role ?? 'controlling';
  return buildStun({
    method: StunMethod.BINDING,
    cls: 'request',
    transactionId: randomBytes(12),
    attributes: [
      { type: StunAttr.USERNAME, value: encodeText(`${options.ufrag ?? UFRAG}:${PEER_UFRAG}`) },
      { type: StunAttr.PRIORITY, value: encodeU32(110 << 24) },
      { type: role === 'controlling' ? StunAttr.ICE_CONTROLLING : StunAttr.ICE_CONTROLLED, value: encodeU64(options.tiebreaker ?? 7n) },
    ],
    integrityKey: shortTermKey(options.pwd ?? PWD),
    fingerprint: true,
  });
}

function bindingSuccess(mapped: Endpoint): Uint8Array {
  const transactionId = randomBytes(12);
  return buildStun({
    method: StunMethod.BINDING,
    cls: 'success',
    transactionId,
    attributes: [{ type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress(mapped, transactionId) }],
    integrityKey: shortTermKey(PWD),
    fingerprint: true,
  });
}

const RTP = Uint8Array.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9]);
const CLIENT_HELLO = (() => {
  const b = new Uint8Array(40);
  b[0] = 22;
  b[13] = 1;
  return b;
})();

function of<K extends MuxOutput['kind']>(outputs: MuxOutput[], kind: K): Extract<MuxOutput, { kind: K }>[] {
  return outputs.filter((o): o is Extract<MuxOutput, { kind: K }> => o.kind === kind);
}

/** A mux with one direct IPv4 path, credentials, engine endpoint and remote description applied. */
function readyMux(extra: Partial<PathMuxOptions> = {}): { mux: PathMux; bind: (outs: MuxOutput[]) => MuxOutput[] } {
  const mux = new PathMux({
    isOutgoing: true,
    allowDirect: true,
    direct: [{ family: 4, localPort: 40000, hostAddresses: ['10.0.0.1'] }],
    relays: [],
    tiebreaker: 0x1234n,
    ...extra,
  });
  mux.start(0);
  mux.setLocalCredentials(UFRAG, PWD);
  mux.setEngineEndpoint(ENGINE);
  mux.remoteDescriptionApplied();
  let port = 41000;
  // Binds every proxy the outputs ask for, like the adapter does.
  const bind = (outs: MuxOutput[]): MuxOutput[] => {
    const all = [...outs];
    for (const o of of(outs, 'open-proxy')) all.push(...mux.proxyBound(o.route, port++));
    return all;
  };
  return { mux, bind };
}

describe('PathMux: candidates', () => {
  it('signals host candidates once the credentials are known, never before', () => {
    const mux = new PathMux({ isOutgoing: true, allowDirect: true, direct: [{ family: 4, localPort: 40000, hostAddresses: ['10.0.0.1', '192.168.1.5'] }], relays: [], tiebreaker: 1n });
    expect(of(mux.start(0), 'local-candidate')).toEqual([]);
    const lines = of(mux.setLocalCredentials(UFRAG, PWD), 'local-candidate').map((o) => o.line);
    expect(lines).toHaveLength(2);
    const first = parseIceCandidate(lines[0]!)!;
    expect(first).toMatchObject({ type: 'host', address: '10.0.0.1', port: 40000, component: 1, transport: 'udp' });
    expect(lines[0]).toContain(`ufrag ${UFRAG}`);
    expect(parseIceCandidate(lines[1]!)!.priority).toBeLessThan(first.priority);
  });

  it('signals a host candidate for an address that appears during the call (a network change), once', () => {
    const { mux } = readyMux();
    const lines = of(mux.hostAddresses(4, ['10.0.0.3', '10.0.0.1']), 'local-candidate').map((o) => o.line);
    expect(lines).toHaveLength(1);
    expect(parseIceCandidate(lines[0]!)).toMatchObject({ type: 'host', address: '10.0.0.3', port: 40000 });
    expect(lines[0]).toContain(`ufrag ${UFRAG}`);
    expect(mux.hostAddresses(4, ['10.0.0.3'])).toEqual([]);
    expect(mux.hostAddresses(6, ['2001:db8::1'])).toEqual([]); // no IPv6 socket
    // bounded: a host whose addresses keep changing never grows the list past the cap
    const many = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);
    expect(of(mux.hostAddresses(4, many), 'local-candidate').length).toBeLessThan(16);
    expect(readyMux({ allowDirect: false }).mux.hostAddresses(4, ['10.0.0.3'])).toEqual([]);
  });

  it('has no host candidate and no direct route when p2p is not allowed', () => {
    const { mux } = readyMux({ allowDirect: false });
    expect(of(mux.setLocalCredentials(UFRAG, PWD), 'local-candidate')).toEqual([]);
    expect(of(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'), 'open-proxy')).toEqual([]);
  });

  it('opens a proxy per usable peer candidate and announces it to libjuice after the remote description', () => {
    const mux = new PathMux({ isOutgoing: false, allowDirect: true, direct: [{ family: 4, localPort: 40000, hostAddresses: ['10.0.0.1'] }], relays: [], tiebreaker: 1n });
    mux.start(0);
    const opened = of(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host generation 0'), 'open-proxy');
    expect(opened).toHaveLength(1);
    expect(of(mux.proxyBound(opened[0]!.route, 41000), 'engine-candidate')).toEqual([]);
    const announced = of(mux.remoteDescriptionApplied(), 'engine-candidate');
    expect(announced).toHaveLength(1);
    expect(parseIceCandidate(announced[0]!.line)).toMatchObject({ address: '127.0.0.1', port: 41000, type: 'host' });
  });

  it.each([
    ['candidate:1 1 udp 1 0.0.0.0 5000 typ host', 'unspecified'],
    ['candidate:1 1 udp 1 224.0.0.1 5000 typ host', 'multicast'],
    ['candidate:1 1 udp 1 255.255.255.255 5000 typ host', 'broadcast'],
    ['candidate:1 1 udp 1 :: 5000 typ host', 'unspecified'],
    ['candidate:1 1 udp 1 ff02::1 5000 typ host', 'multicast'],
    ['candidate:1 1 udp 1 127.0.0.1 5000 typ host', 'loopback'],
    ['candidate:1 2 udp 1 10.0.0.2 5001 typ host', 'component'],
    ['candidate:1 1 tcp 1 10.0.0.2 9 typ host tcptype active', 'transport'],
    ['candidate:1 1 udp 1 abcd.local 5000 typ host', 'hostname'],
    ['candidate:1 1 udp 1 10.0.0.2 0 typ host', 'port'],
    ['garbage', 'malformed'],
  ])('drops %s (%s)', (line, reason) => {
    const { mux } = readyMux();
    const outs = mux.addRemoteCandidate(line);
    expect(of(outs, 'open-proxy')).toEqual([]);
    expect(of(outs, 'event')[0]?.event).toMatchObject({ type: 'candidate-dropped', reason });
  });

  it('de-duplicates candidates and caps direct routes, IPv6 ones first', () => {
    const { mux } = readyMux({ direct: [{ family: 4, localPort: 1, hostAddresses: ['10.0.0.1'] }, { family: 6, localPort: 2, hostAddresses: ['2001:db8::1'] }] });
    let opened = 0;
    opened += of(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'), 'open-proxy').length;
    opened += of(mux.addRemoteCandidate('candidate:2 1 udp 2122260223 10.0.0.2 5000 typ host'), 'open-proxy').length;
    expect(opened).toBe(1);
    for (let i = 0; i < 10; i++) opened += of(mux.addRemoteCandidate(`candidate:${i} 1 udp 2122260223 2001:db8::${i + 10} 5000 typ host`), 'open-proxy').length;
    expect(opened).toBe(1 + 6);
    for (let i = 0; i < 20; i++) opened += of(mux.addRemoteCandidate(`candidate:${i} 1 udp 2122260223 10.1.0.${i + 1} 5000 typ host`), 'open-proxy').length;
    expect(mux.routes.size).toBe(14);
  });
});

describe('PathMux: datagrams', () => {
  it('forwards between a signalled peer and libjuice, and drops what comes early or from elsewhere', () => {
    const { mux, bind } = readyMux();
    const opened = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy');
    const route = opened[0]!.route;
    expect(of(mux.fromNetwork('direct4', RTP, PEER, 1), 'engine')).toEqual([{ kind: 'engine', route, data: RTP }]);
    expect(of(mux.fromEngine(route, RTP, ENGINE, 2), 'net')).toEqual([{ kind: 'net', socket: 'direct4', to: { address: '10.0.0.2', port: 5000 }, data: RTP }]);
    // not libjuice's address: dropped
    expect(mux.fromEngine(route, RTP, { address: '127.0.0.1', port: 1 }, 3)).toEqual([]);
    // unknown source, not STUN: dropped
    expect(mux.fromNetwork('direct4', RTP, { address: '10.0.0.9', port: 1 }, 4)).toEqual([]);
    expect(mux.drops).toMatchObject({ 'engine-unknown': 1, 'unknown-source': 1 });
  });

  it('drops peer datagrams before the remote description is applied', () => {
    const mux = new PathMux({ isOutgoing: true, allowDirect: true, direct: [{ family: 4, localPort: 1, hostAddresses: ['10.0.0.1'] }], relays: [], tiebreaker: 1n });
    mux.start(0);
    mux.setLocalCredentials(UFRAG, PWD);
    const route = of(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'), 'open-proxy')[0]!.route;
    mux.proxyBound(route, 41000);
    mux.setEngineEndpoint(ENGINE);
    expect(mux.fromNetwork('direct4', RTP, PEER, 1)).toEqual([]);
    expect(mux.drops.early).toBe(1);
  });

  it('learns a route from a verified check only, and delivers once the proxy is bound', () => {
    const { mux } = readyMux();
    expect(mux.fromNetwork('direct4', check({ pwd: 'wrongpasswordwrongpassword' }), PEER, 1)).toEqual([]);
    expect(mux.fromNetwork('direct4', check({ ufrag: 'othr' }), PEER, 1)).toEqual([]);
    expect(mux.drops['unverified-check']).toBe(2);
    const request = check();
    const outs = mux.fromNetwork('direct4', request, PEER, 2);
    const route = of(outs, 'open-proxy')[0]!.route;
    expect(of(outs, 'engine')).toEqual([]);
    const delivered = of(mux.proxyBound(route, 41000), 'engine');
    expect(delivered.map((d) => d.data)).toEqual([request]);
    // learned routes are found by libjuice itself (peer-reflexive), not announced
    expect(of(mux.proxyBound(route, 41000), 'engine-candidate')).toEqual([]);
  });

  it('rewrites the mapped address libjuice reports to the peer real address', () => {
    const { mux, bind } = readyMux();
    const route = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy')[0]!.route;
    const response = bindingSuccess({ address: '127.0.0.1', port: 41000 });
    const sent = of(mux.fromEngine(route, response, ENGINE, 1), 'net')[0]!;
    const parsed = parseStun(sent.data);
    if (!parsed.ok) throw new Error('unparseable');
    expect(decodeAddress(attributeValue(parsed, StunAttr.XOR_MAPPED_ADDRESS)!, parsed.transactionId)).toEqual(PEER);
  });
});

describe('PathMux: a peer that moves', () => {
  function connected() {
    const { mux, bind } = readyMux();
    const route = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy')[0]!.route;
    mux.fromNetwork('direct4', RTP, PEER, 1000);
    mux.fromEngine(route, RTP, ENGINE, 1000);
    return { mux, route, bind };
  }
  const MOVED: Endpoint = { address: '10.0.0.4', port: 6000 };

  it('moves the route libjuice uses on a verified check from a new address after silence', () => {
    const { mux, route } = connected();
    mux.fromEngine(route, RTP, ENGINE, 2500); // we keep sending; the peer went silent at 1000
    const outs = mux.fromNetwork('direct4', check(), MOVED, 2600);
    expect(of(outs, 'event')[0]?.event).toMatchObject({ type: 'peer-moved', from: '10.0.0.2:5000', to: '10.0.0.4:6000' });
    expect(of(outs, 'engine')[0]?.route).toBe(route);
    expect(of(mux.fromEngine(route, RTP, ENGINE, 2700), 'net')[0]?.to).toEqual(MOVED);
    expect(of(mux.fromNetwork('direct4', RTP, MOVED, 2710), 'engine')).toHaveLength(1);
    expect(mux.fromNetwork('direct4', RTP, PEER, 2720)).toEqual([]);
    expect(mux.moves).toBe(1);
  });

  it('never moves on a forged check', () => {
    const { mux, route } = connected();
    mux.fromEngine(route, RTP, ENGINE, 2500);
    expect(mux.fromNetwork('direct4', check({ pwd: 'forgedpasswordforgedpassword' }), MOVED, 2600)).toEqual([]);
    expect(of(mux.fromEngine(route, RTP, ENGINE, 2700), 'net')[0]?.to).toEqual({ address: '10.0.0.2', port: 5000 });
    expect(mux.moves).toBe(0);
  });

  it('learns a second route instead of moving while the first still hears the peer', () => {
    const { mux, route } = connected();
    mux.fromNetwork('direct4', RTP, PEER, 1500);
    mux.fromEngine(route, RTP, ENGINE, 1500);
    const outs = mux.fromNetwork('direct4', check(), MOVED, 1600);
    expect(of(outs, 'open-proxy')).toHaveLength(1);
    expect(mux.moves).toBe(0);
  });

  // Found by test/interop/network-change*.test.ts: a peer's first check from its new address can
  // come before its old route has been silent for 1 s, and ntgcalls signals its new candidate
  // before checking from it. Either way the new address has a route of its own before the move.
  it('still moves once the first route is silent when the new address already has a route (an early check)', () => {
    const { mux, route, bind } = connected();
    mux.fromNetwork('direct4', RTP, PEER, 1500);
    mux.fromEngine(route, RTP, ENGINE, 1500);
    const early = of(bind(mux.fromNetwork('direct4', check(), MOVED, 1600)), 'open-proxy')[0]!.route;
    expect(early).not.toBe(route);
    mux.fromEngine(route, RTP, ENGINE, 2600); // libjuice stays on its nominated route
    expect(mux.fromNetwork('direct4', RTP, MOVED, 2650).map((o) => o.kind)).toEqual(['engine']); // media moves nothing
    expect(mux.moves).toBe(0);
    const outs = mux.fromNetwork('direct4', check(), MOVED, 2700);
    expect(of(outs, 'event')[0]?.event).toMatchObject({ type: 'peer-moved', from: '10.0.0.2:5000', to: '10.0.0.4:6000' });
    expect(of(outs, 'engine')[0]?.route).toBe(route);
    expect(of(mux.fromEngine(route, RTP, ENGINE, 2750), 'net')[0]?.to).toEqual(MOVED);
    expect(of(mux.fromNetwork('direct4', RTP, MOVED, 2760), 'engine')[0]?.route).toBe(route);
    expect(mux.moves).toBe(1);
  });

  it('moves to an address the peer signalled after connecting, on a verified check from it', () => {
    const { mux, route, bind } = connected();
    const signalled = of(bind(mux.addRemoteCandidate('candidate:2 1 udp 2122260223 10.0.0.4 6000 typ host')), 'open-proxy')[0]!.route;
    expect(signalled).not.toBe(route);
    mux.fromEngine(route, RTP, ENGINE, 2500);
    // a forged check on that route reaches libjuice (which refuses it) but moves nothing
    expect(of(mux.fromNetwork('direct4', check({ pwd: 'forgedpasswordforgedpassword' }), MOVED, 2550), 'event')).toEqual([]);
    expect(mux.moves).toBe(0);
    const outs = mux.fromNetwork('direct4', check(), MOVED, 2600);
    expect(of(outs, 'event')[0]?.event).toMatchObject({ type: 'peer-moved', to: '10.0.0.4:6000' });
    expect(of(outs, 'engine')[0]?.route).toBe(route);
    expect(of(mux.fromEngine(route, RTP, ENGINE, 2700), 'net')[0]?.to).toEqual(MOVED);
    expect(mux.moves).toBe(1);
  });
});

/** A plaintext DTLS 1.2 handshake record (RFC 6347 §4.1, §4.2.2). */
function handshakeRecord(type: number, recordSeq: number, messageSeq: number, bodyLength = 40): Uint8Array {
  const b = new Uint8Array(13 + 12 + bodyLength);
  b.set([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, recordSeq >> 8, recordSeq & 0xff, (12 + bodyLength) >> 8, (12 + bodyLength) & 0xff]);
  b.set([type, 0, 0, bodyLength, messageSeq >> 8, messageSeq & 0xff, 0, 0, 0, 0, 0, bodyLength], 13);
  return b;
}

describe('PathMux: DTLS repairs', () => {
  it('resends our last flight at once when the peer repeats its own (ours was lost)', () => {
    const { mux, bind } = readyMux();
    const route = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy')[0]!.route;
    mux.fromNetwork('direct4', handshakeRecord(1, 0, 0), PEER, 100); // ClientHello
    const serverHello = handshakeRecord(2, 0, 0);
    const certificate = handshakeRecord(11, 1, 1);
    mux.fromEngine(route, serverHello, ENGINE, 101);
    mux.fromEngine(route, certificate, ENGINE, 102);
    // the same ClientHello again, in a new record: the peer did not get our flight
    const again = of(mux.fromNetwork('direct4', handshakeRecord(1, 1, 0), PEER, 300), 'net');
    expect(again.map((o) => o.data)).toEqual([serverHello, certificate]);
    // not twice within 100 ms; a new message of the peer starts our next flight
    expect(of(mux.fromNetwork('direct4', handshakeRecord(1, 2, 0), PEER, 350), 'net')).toEqual([]);
    mux.fromNetwork('direct4', handshakeRecord(16, 3, 1), PEER, 400); // ClientKeyExchange
    expect(mux.dtlsRepairs().flightsResent).toBe(1);
  });

  it('sends each ICE check of libjuice once more 40 ms later until connected (a check and its answer get two chances)', () => {
    const { mux, bind } = readyMux();
    const route = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy')[0]!.route;
    const request = check({ ufrag: PEER_UFRAG });
    expect(of(mux.fromEngine(route, request, ENGINE, 100), 'net').map((o) => o.data)).toEqual([request]);
    expect(mux.nextDeadline()).toBe(140);
    expect(of(mux.tick(140), 'net')).toEqual([{ kind: 'net', socket: 'direct4', to: PEER, data: request }]);
    // libjuice's answers to the peer's checks are not copied
    mux.fromEngine(route, bindingSuccess(PEER), ENGINE, 150);
    expect(of(mux.tick(190), 'net')).toEqual([]);
    // connected: consent checks go out once
    mux.connected(200);
    mux.fromEngine(route, check({ ufrag: PEER_UFRAG }), ENGINE, 300);
    expect(of(mux.tick(340), 'net')).toEqual([]);
  });

  it('hands a kept peer ClientHello to libjuice again as soon as the peer answers libjuice’s ICE check', () => {
    const { mux, bind } = readyMux();
    bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'));
    mux.fromNetwork('direct4', CLIENT_HELLO, PEER, 100);
    expect(of(mux.tick(130), 'engine')).toHaveLength(1); // the fixed replay at +30
    // the peer's binding success: libjuice's pair succeeds, DTLS starts, the ClientHello goes again at once
    expect(of(mux.fromNetwork('direct4', bindingSuccess(PEER), PEER, 150), 'engine')).toHaveLength(1);
    expect(mux.nextDeadline()).toBe(155);
    expect(of(mux.tick(155), 'engine').map((o) => o.data)).toEqual([CLIENT_HELLO]);
  });

  it('hands the peer ClientHello to libjuice again until libjuice answers, and repeats handshake records', () => {
    const { mux, bind } = readyMux();
    const route = of(bind(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host')), 'open-proxy')[0]!.route;
    expect(of(mux.fromNetwork('direct4', CLIENT_HELLO, PEER, 100), 'engine')).toHaveLength(1);
    const first = mux.nextDeadline()!;
    expect(first).toBeGreaterThan(100);
    expect(of(mux.tick(first), 'engine')).toHaveLength(1);
    // libjuice answers: no more replays, and its handshake record is sent once more later
    const serverHello = Uint8Array.from(CLIENT_HELLO);
    serverHello[13] = 2;
    expect(of(mux.fromEngine(route, serverHello, ENGINE, first + 1), 'net')).toHaveLength(1);
    const again = mux.nextDeadline()!;
    const repeated = mux.tick(again);
    expect(of(repeated, 'engine')).toEqual([]);
    expect(of(repeated, 'net').map((o) => o.data)).toEqual([serverHello]);
    mux.connected(400);
    // our side is done, the peer's may not be: the timer on our unanswered flight still runs
    expect(mux.nextDeadline()).toBeLessThan(1000);
    // the peer's SRTP shows it finished too: no repair left, the only deadline is the watch on
    // the peer's silence (6 s after the last datagram)
    mux.fromNetwork('direct4', RTP, PEER, 410);
    expect(mux.nextDeadline()).toBe(6410);
  });
});

/** A scripted relay: what the mux sends, and what the test makes it deliver. */
class ScriptedRelay implements RelayPath {
  readonly kind: 'turn' | 'reflector';
  readonly server: Endpoint = { address: '10.9.9.9', port: 599 };
  readonly transport = 'udp' as const;
  readonly sent: { peer: RelayPeer; payload: Uint8Array }[] = [];
  constructor(kind: 'turn' | 'reflector') {
    this.kind = kind;
  }
  start(): RelayStep {
    return { wire: [], events: [{ kind: 'ready', candidate: parseIceCandidate('candidate:9 1 udp 58655488 reflector-1-77.reflector 599 typ relay')! }] };
  }
  /** The test's datagrams: a 2-byte sender port id, then the payload. */
  receive(data: Uint8Array): RelayStep {
    return { wire: [], events: [{ kind: 'data', peer: (data[0]! << 8) | data[1]!, payload: data.subarray(2) }] };
  }
  send(peer: RelayPeer, payload: Uint8Array): RelayStep {
    this.sent.push({ peer, payload });
    return { wire: [{ to: this.server, data: payload }], events: [] };
  }
  tick(): RelayStep {
    return { wire: [], events: [] };
  }
  nextDeadline(): number | undefined {
    return undefined;
  }
  close(): RelayStep {
    return { wire: [], events: [] };
  }
  peerFor(c: { address: string }): RelayPeer | undefined {
    const m = /^reflector-1-(\d+)\.reflector$/.exec(c.address);
    return m ? Number(m[1]) : undefined;
  }
  stats() {
    return { state: 'ready' as const, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, dropped: {} };
  }
}

describe('PathMux: relays', () => {
  it('signals the relay candidate, routes reflector candidates, and re-signs zero tie-breakers', () => {
    const relay = new ScriptedRelay('reflector');
    const mux = new PathMux({ isOutgoing: false, allowDirect: false, direct: [], relays: [relay], tiebreaker: 0xabcdn });
    const started = mux.start(0);
    expect(of(started, 'event')[0]?.event).toMatchObject({ type: 'relay-ready', path: 'relay0' });
    const lines = of(mux.setLocalCredentials(UFRAG, PWD), 'local-candidate').map((o) => o.line);
    expect(lines[0]).toMatch(/^candidate:9 1 udp 58655488 reflector-1-77\.reflector 599 typ relay generation 0 ufrag locl/);
    mux.setEngineEndpoint(ENGINE);
    mux.remoteDescriptionApplied();
    // a direct candidate is useless without p2p; the reflector one gets a route
    expect(of(mux.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'), 'open-proxy')).toEqual([]);
    const route = of(mux.addRemoteCandidate('candidate:2 1 udp 58655488 reflector-1-4242.reflector 599 typ relay'), 'open-proxy')[0]!.route;
    mux.proxyBound(route, 41000);
    const from = (id: number, payload: Uint8Array) => Uint8Array.from([id >> 8, id & 0xff, ...payload]);
    const zero = check({ tiebreaker: 0n, role: 'controlling' });
    const delivered = of(mux.fromNetwork('relay0', from(4242, zero), relay.server, 1), 'engine');
    expect(delivered).toHaveLength(1);
    const parsed = parseStun(delivered[0]!.data);
    if (!parsed.ok) throw new Error('unparseable');
    expect(attributeValue(parsed, StunAttr.ICE_CONTROLLING)).toEqual(encodeU64(0xabcdn));
    // an unknown reflector port: learned through a verified check only
    expect(mux.fromNetwork('relay0', from(77, RTP), relay.server, 2)).toEqual([]);
    const learned = of(mux.fromNetwork('relay0', from(77, zero), relay.server, 3), 'open-proxy');
    expect(learned).toHaveLength(1);
    mux.fromEngine(route, RTP, ENGINE, 3);
    expect(relay.sent.at(-1)).toEqual({ peer: 4242, payload: RTP });
  });
});

describe('PathMux: any input', () => {
  it('never throws and never hands libjuice a datagram from an unknown source that is not a verified check', () => {
    const random = new SeededRandom(7);
    for (let round = 0; round < 20; round++) {
      const { mux, bind } = readyMux();
      const known = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const r = random.next();
        const from: Endpoint = { address: `10.0.0.${1 + Math.floor(random.next() * 4)}`, port: 5000 + Math.floor(random.next() * 3) };
        if (r < 0.2) {
          bind(mux.addRemoteCandidate(`candidate:1 1 udp ${Math.floor(random.next() * 2 ** 31)} ${from.address} ${from.port} typ host`));
          known.add(`${from.address}:${from.port}`);
        } else if (r < 0.6) {
          const key = `${from.address}:${from.port}`;
          const verified = random.next() < 0.5;
          const bytes = random.next() < 0.5 ? randomBytes(Math.floor(random.next() * 200)) : check({ pwd: verified ? PWD : 'xxxxxxxxxxxxxxxxxxxxxxxxxx' });
          const isVerifiedCheck = bytes.length > 20 && verified && bytes[0] === 0 && bytes[1] === 1;
          const outs = bind(mux.fromNetwork('direct4', bytes, from, i * 10));
          if (of(outs, 'engine').length > 0) expect(known.has(key) || isVerifiedCheck).toBe(true);
          if (isVerifiedCheck) known.add(key);
        } else if (r < 0.9) {
          const ids = [...mux.routes.all()].map((x) => x.id);
          const id = ids[Math.floor(random.next() * (ids.length + 1))] ?? 999;
          mux.fromEngine(id, randomBytes(Math.floor(random.next() * 200)), random.next() < 0.9 ? ENGINE : from, i * 10);
        } else {
          mux.tick(i * 10);
        }
      }
      mux.close(10_000);
      expect(mux.nextDeadline()).toBeUndefined();
    }
  });
});
