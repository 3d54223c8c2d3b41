/**
 * What the network edge costs per packet (issue 13 item 4: "measure what it costs per packet").
 *
 * 1. The sans-I/O core alone (PathMux): an RTP-sized datagram from the peer to libjuice and one
 *    from libjuice to the peer, direct and through a reflector (wrap/unwrap included).
 * 2. With real sockets on loopback: a packet from a "peer" socket through a NetworkEdge-shaped
 *    forwarder (network socket -> proxy socket -> "engine" socket), CPU per forwarded packet of
 *    this process, i.e. what one direction of one leg costs in JavaScript and libuv.
 *
 * Prints figures; asserts nothing. `npx tsx bench/edge.ts`
 */
import { createSocket } from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { buildStun, encodeText, encodeU32, encodeU64, shortTermKey, StunAttr, StunMethod } from '../src/network/stun.js';
import { PathMux, type MuxOutput } from '../src/network/path-mux.js';
import { ReflectorPath } from '../src/network/reflector-path.js';
import { encodeData } from '../src/network/reflector-codec.js';

const UFRAG = 'locl';
const PWD = 'localpasswordlocalpassword';
const ENGINE = { address: '127.0.0.1', port: 50000 };
const PEER = { address: '10.0.0.2', port: 5000 };
const N = 200_000;

function rtp(size = 120): Uint8Array {
  const b = new Uint8Array(size);
  b[0] = 0x80;
  b[1] = 111;
  return b;
}

function cpuNs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / N;
}

function readyMux(relays: ConstructorParameters<typeof PathMux>[0]['relays'] = []): PathMux {
  const mux = new PathMux({ isOutgoing: true, allowDirect: relays.length === 0, direct: [{ family: 4, localPort: 40000, hostAddresses: ['10.0.0.1'] }], relays, tiebreaker: 1n });
  mux.start(0);
  mux.setLocalCredentials(UFRAG, PWD);
  mux.setEngineEndpoint(ENGINE);
  mux.remoteDescriptionApplied();
  return mux;
}

function bindAll(mux: PathMux, outs: MuxOutput[]): number {
  let route = -1;
  for (const o of outs) if (o.kind === 'open-proxy') (route = o.route), mux.proxyBound(o.route, 41000 + o.route);
  return route;
}

function coreFigures(): void {
  const packet = rtp();
  // direct
  const direct = readyMux();
  const route = bindAll(direct, direct.addRemoteCandidate('candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host'));
  const inNs = cpuNs(() => {
    for (let i = 0; i < N; i++) direct.fromNetwork('direct4', packet, PEER, i);
  });
  const outNs = cpuNs(() => {
    for (let i = 0; i < N; i++) direct.fromEngine(route, packet, ENGINE, i);
  });
  // reflector
  const tag = new Uint8Array(16).fill(9);
  const relay = new ReflectorPath({ server: { address: '10.9.9.9', port: 599 }, serverId: 1, peerTag: tag, random: () => 77 });
  const viaReflector = readyMux([relay]);
  const rRoute = bindAll(viaReflector, viaReflector.addRemoteCandidate('candidate:1 1 udp 58655488 reflector-1-4242.reflector 599 typ relay'));
  const wrapped = encodeData(tag, 77, 4242, packet);
  const rInNs = cpuNs(() => {
    for (let i = 0; i < N; i++) viaReflector.fromNetwork('relay0', wrapped, relay.server, i);
  });
  const rOutNs = cpuNs(() => {
    for (let i = 0; i < N; i++) viaReflector.fromEngine(rRoute, packet, ENGINE, i);
  });
  // a verified ICE check from an unknown address (the move/learn decision), per check
  const check = buildStun({
    method: StunMethod.BINDING,
    cls: 'request',
    transactionId: new Uint8Array(12).fill(1),
    attributes: [
      { type: StunAttr.USERNAME, value: encodeText(`${UFRAG}:peer`) },
      { type: StunAttr.PRIORITY, value: encodeU32(110 << 24) },
      { type: StunAttr.ICE_CONTROLLING, value: encodeU64(5n) },
    ],
    integrityKey: shortTermKey(PWD),
    fingerprint: true,
  });
  const checks = readyMux();
  const checkNs = cpuNs(() => {
    // every check from a new address: verified each time (routes fill up to their cap, then drops)
    for (let i = 0; i < N; i++) checks.fromNetwork('direct4', check, { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6000 }, i);
  });
  console.log('PathMux core, CPU per packet (ns):');
  console.log(`  direct     peer -> libjuice ${inNs.toFixed(0).padStart(6)}   libjuice -> peer ${outNs.toFixed(0).padStart(6)}`);
  console.log(`  reflector  peer -> libjuice ${rInNs.toFixed(0).padStart(6)}   libjuice -> peer ${rOutNs.toFixed(0).padStart(6)}`);
  console.log(`  a check from an unknown address (verify + learn/move decision) ${checkNs.toFixed(0)}`);
}

async function socketFigures(): Promise<void> {
  // peer -> [network socket] -> [proxy socket] -> engine, the edge's inbound hop on real sockets.
  const bind = async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return s;
  };
  const [peer, network, proxy, engine] = await Promise.all([bind(), bind(), bind(), bind()]);
  const packet = Buffer.from(rtp());
  const total = 20_000;
  let got = 0;
  const done = new Promise<void>((resolve) => {
    engine.on('message', () => {
      if (++got >= total) resolve();
      else send();
    });
  });
  network.on('message', (msg) => proxy.send(msg, engine.address().port, '127.0.0.1'));
  const send = () => peer.send(packet, network.address().port, '127.0.0.1');
  const start = process.cpuUsage();
  const t0 = performance.now();
  send();
  await done;
  const used = process.cpuUsage(start);
  const wall = performance.now() - t0;
  for (const s of [peer, network, proxy, engine]) s.close();
  const perPacketUs = (used.user + used.system) / total;
  console.log('Sockets on loopback (one process plays peer, edge and engine; ping-pong, one packet in flight):');
  console.log(`  ${perPacketUs.toFixed(1)} µs CPU per packet for 3 sends + 3 receives, ${(wall * 1000 / total).toFixed(1)} µs wall`);
  console.log(`  the edge's own share (1 receive + 1 send per packet and direction): ~${(perPacketUs / 3).toFixed(1)} µs;`);
  console.log(`  at 50 packets/s each way that is ~${((perPacketUs / 3) * 100 / 1000).toFixed(2)} ms CPU per leg-second, plus the core above`);
}

export default async function benchEdge(): Promise<void> {
  console.log('\nThe network edge, per packet');
  coreFigures();
  await socketFigures();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchEdge();
