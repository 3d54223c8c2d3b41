/**
 * STUN/TURN hot-path costs of the network edge (EDGE.md): what the path mux pays per datagram.
 * `isStunPacket` runs on every packet; `verifyIceRequest` on every STUN packet that could move a
 * path (ICE checks: a few per second per path); the TURN figures on every relayed media packet.
 * Prints ns per call (median of 7 batches); asserts nothing. `npx tsx bench/stun.ts`
 */
import { createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { fixZeroTiebreaker, rewriteMappedAddress, verifyIceRequest } from '../src/network/ice-check.js';
import {
  StunAttr,
  StunMethod,
  buildStun,
  encodeAddress,
  encodeErrorCode,
  encodeText,
  encodeU32,
  encodeU64,
  isStunPacket,
  longTermKey,
  parseStun,
} from '../src/network/stun.js';
import { TurnClient } from '../src/network/turn-client.js';

const UFRAG = 'h6vY';
const PWD = 'VOkJxbRl1RmTxUk/WvJxBt';
let sink = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * ns per call of `fn(inputs[i % n])`, in CPU time (process.cpuUsage: user + system) and wall time.
 * The batch size is calibrated to ~40 ms of CPU; the median of 7 batches is kept. On the shared
 * 2-vCPU machine the wall figure includes waiting for a CPU; the CPU figure is the cost.
 */
function nsPerCall<T>(inputs: readonly T[], fn: (input: T) => unknown): { cpu: number; wall: number } {
  const batch = (calls: number): { cpu: number; wall: number } => {
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) if (fn(inputs[i % inputs.length]!)) sink += 1;
    const wall = Number(process.hrtime.bigint() - start) / calls;
    const cpu = process.cpuUsage(cpu0);
    return { cpu: ((cpu.user + cpu.system) * 1000) / calls, wall };
  };
  let calls = 1000;
  while (batch(calls).cpu * calls < 10e6 && calls < 1e8) calls *= 4;
  const size = Math.max(1000, Math.round(40e6 / Math.max(1, batch(calls).cpu)));
  const runs = Array.from({ length: 7 }, () => batch(size));
  return { cpu: median(runs.map((r) => r.cpu)), wall: median(runs.map((r) => r.wall)) };
}

function iceCheck(options: { zeroTiebreaker?: boolean; pwd?: string } = {}): Uint8Array {
  // what libwebrtc sends: USERNAME, GOOG-NETWORK-INFO-like padding omitted, ICE-CONTROLLING, USE-CANDIDATE, PRIORITY
  return buildStun({
    method: StunMethod.BINDING,
    cls: 'request',
    transactionId: Uint8Array.from({ length: 12 }, (_, i) => i + 1),
    attributes: [
      { type: StunAttr.USERNAME, value: encodeText(`${UFRAG}:evtj`) },
      { type: StunAttr.ICE_CONTROLLING, value: encodeU64(options.zeroTiebreaker ? 0n : 0x1234n) },
      { type: StunAttr.USE_CANDIDATE, value: new Uint8Array(0) },
      { type: StunAttr.PRIORITY, value: encodeU32(1853817087) },
    ],
    integrityKey: options.pwd ?? PWD,
    fingerprint: true,
  });
}

function mediaPackets(): Uint8Array[] {
  // SRTP audio (Opus 20 ms ≈ 60–160 B + 12 B header + 10 B auth tag), RTCP, DTLS, ChannelData
  const out: Uint8Array[] = [];
  for (const size of [72, 96, 120, 160, 182, 210]) {
    const p = new Uint8Array(size).map((_, i) => (i * 37) & 0xff);
    p[0] = 0x80;
    p[1] = 111;
    out.push(p);
  }
  const rtcp = new Uint8Array(64);
  rtcp[0] = 0x81;
  rtcp[1] = 200;
  const dtls = new Uint8Array(100);
  dtls[0] = 23;
  const channel = new Uint8Array(176);
  channel[0] = 0x40;
  return [...out, rtcp, dtls, channel];
}

/** An allocated client with a bound channel to `peer`, driven by hand-made server answers. */
function boundTurnClient(peer: { address: string; port: number }): TurnClient {
  const server = { address: '198.51.100.1', port: 3478 };
  const key = longTermKey('u', 'r', 'p');
  const client = new TurnClient({ server, username: 'u', password: 'p' });
  const answer = (req: Uint8Array, attributes: { type: number; value: Uint8Array }[], signed: boolean, cls: 'success' | 'error' = 'success'): Uint8Array => {
    const m = parseStun(req);
    if (!m.ok) throw new Error('bad request');
    return buildStun({ method: m.method, cls, transactionId: m.transactionId, attributes, ...(signed ? { integrityKey: key } : {}) });
  };
  let req = client.start(0).send[0]!.data;
  req = client.receive(
    answer(req, [
      { type: StunAttr.ERROR_CODE, value: encodeErrorCode(401, 'Unauthorized') },
      { type: StunAttr.REALM, value: encodeText('r') },
      { type: StunAttr.NONCE, value: encodeText('n') },
    ], false, 'error'),
    server,
    1,
  ).send[0]!.data;
  const id = (parseStun(req) as { transactionId: Uint8Array }).transactionId;
  client.receive(answer(req, [{ type: StunAttr.XOR_RELAYED_ADDRESS, value: encodeAddress({ address: '198.51.100.1', port: 50000 }, id) }], true), server, 2);
  for (const d of client.send(peer, new Uint8Array(1), 3).send) {
    const m = parseStun(d.data);
    if (m.ok && m.cls === 'request') client.receive(answer(d.data, [], true), server, 4);
  }
  return client;
}

export default async function benchStun(): Promise<void> {
  const media = mediaPackets();
  const check = iceCheck();
  const forged = iceCheck({ pwd: 'forged-password-guess' });
  const zero = iceCheck({ zeroTiebreaker: true });
  const response = buildStun({
    method: StunMethod.BINDING,
    cls: 'success',
    transactionId: check.subarray(8, 20),
    attributes: [{ type: StunAttr.XOR_MAPPED_ADDRESS, value: encodeAddress({ address: '127.0.0.1', port: 50000 }, check.subarray(8, 20)) }],
    integrityKey: PWD,
    fingerprint: true,
  });
  const peer = { address: '203.0.113.9', port: 40000 };
  const turn = boundTurnClient(peer);
  const server = turn.server;
  const payload = new Uint8Array(160).fill(0x80);
  const incoming = new Uint8Array(164);
  incoming.set([0x40, 0x00, 0, 160]);
  if (turn.send(peer, payload, 5).send[0]!.data[0] !== 0x40) throw new Error('the channel is not bound');

  const rows = [
    { what: 'isStunPacket, media/DTLS/ChannelData packets (false)', ns: nsPerCall(media, isStunPacket) },
    { what: 'isStunPacket, an ICE check (true)', ns: nsPerCall([check], isStunPacket) },
    { what: 'parseStun, an ICE check', ns: nsPerCall([check], parseStun) },
    { what: 'for scale: createHmac(sha1) over the same 72 bytes', ns: nsPerCall([check.subarray(0, 72)], (b) => createHmac('sha1', PWD).update(b).digest()) },
    { what: 'verifyIceRequest, valid check (parse + CRC + HMAC-SHA1)', ns: nsPerCall([check], (b) => verifyIceRequest(b, UFRAG, PWD).ok) },
    { what: 'verifyIceRequest, forged check (bad integrity)', ns: nsPerCall([forged], (b) => verifyIceRequest(b, UFRAG, PWD).ok) },
    { what: 'verifyIceRequest, wrong ufrag (rejected before HMAC)', ns: nsPerCall([check], (b) => verifyIceRequest(b, 'nope', PWD).ok) },
    { what: 'fixZeroTiebreaker, zero tie-breaker (verify + re-sign)', ns: nsPerCall([zero], (b) => fixZeroTiebreaker(b, PWD, 7n)) },
    { what: 'rewriteMappedAddress (verify + rebuild + sign)', ns: nsPerCall([response], (b) => rewriteMappedAddress(b, peer, PWD)) },
    { what: 'TurnClient.send, bound channel (ChannelData, 160 B)', ns: nsPerCall([payload], (p) => turn.send(peer, p, 6)) },
    { what: 'TurnClient.receive, ChannelData (160 B)', ns: nsPerCall([incoming], (b) => turn.receive(b, server, 6)) },
  ];
  console.log('\nSTUN/TURN hot path, ns per call (median of 7 batches of ~40 ms CPU)');
  console.table(rows.map((r) => ({ what: r.what, 'ns CPU': Math.round(r.ns.cpu), 'ns wall': Math.round(r.ns.wall) })));
  if (sink === -1) console.log(sink);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchStun();
