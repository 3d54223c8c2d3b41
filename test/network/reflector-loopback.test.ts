/**
 * Reflector clients on real sockets through the fake reflector on loopback: payloads both ways
 * over UDP and TCP, hostile and unknown-source datagrams dropped and counted, seeded loss and
 * duplication visible in the counters, a reflector that stops mid-stream, and nothing left open.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeReflector, type FakeReflectorOptions } from '../../src/fake/fake-reflector.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';
import type { ReflectorClientOptions } from '../../src/network/reflector-client.js';
import { encodeData } from '../../src/network/reflector-codec.js';
import { reflectorServers } from '../../src/network/reflector-servers.js';
import { ReflectorSocketDriver } from '../helpers/reflector-socket.js';

// Caller and callee tags differ in byte 0, as the official CLI's reflector mode makes them.
const TAG_A = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const TAG_B = new Uint8Array(Buffer.from('01112233445566778899aabbccddeeff', 'hex'));
const NET_TYPES = new Set(['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'TCPWrap', 'ConnectWrap']);

const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

function netHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => NET_TYPES.has(r)).length;
}

async function reflector(options: FakeReflectorOptions = {}): Promise<FakeReflector> {
  const r = await FakeReflector.start(options);
  open.push(r);
  return r;
}

/** Two clients (tags A and B) on `fake`, both started and READY. */
async function pair(
  fake: FakeReflector,
  transports: ['udp' | 'tcp', 'udp' | 'tcp'] = ['udp', 'udp'],
  extra: Partial<ReflectorClientOptions> = {},
): Promise<[ReflectorSocketDriver, ReflectorSocketDriver]> {
  const random = new SeededRandom(99);
  const drivers = ([TAG_A, TAG_B] as const).map((tag, i) => {
    // Both phones see the same entry list, so both number the reflector the same (§1).
    const [server] = reflectorServers([fake.connection(tag, { tcp: transports[i] === 'tcp' })]).servers;
    const d = new ReflectorSocketDriver({
      server: server!.endpoint,
      serverId: server!.serverId,
      peerTag: server!.peerTag,
      transport: transports[i],
      random: () => random.nextUint32(),
      ...extra,
    });
    open.push(d);
    return d;
  }) as [ReflectorSocketDriver, ReflectorSocketDriver];
  await Promise.all(drivers.map((d) => d.start()));
  await Promise.all(drivers.map((d) => d.waitUntil(() => d.client.state === 'ready', 5_000, 'READY')));
  // A TCP client is READY on connect, before the reflector has read its hello.
  await poll(() => fake.clients().length >= 2, 'the reflector learned both clients');
  return drivers;
}

async function poll(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !predicate(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Loopback UDP has no flow control: a burst larger than the socket buffer is dropped by the kernel. */
function pace(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1));
}

function payload(from: number, i: number): Uint8Array {
  return Uint8Array.from({ length: 20 + (i % 50) }, (_, k) => (from * 31 + i * 7 + k) & 0xff);
}

async function exchange(a: ReflectorSocketDriver, b: ReflectorSocketDriver, count: number): Promise<void> {
  const startA = a.received.length;
  const startB = b.received.length;
  for (let i = 0; i < count; i++) {
    a.sendTo(b.client.myId, payload(1, i));
    b.sendTo(a.client.myId, payload(2, i));
    if (i % 10 === 9) await pace();
  }
  await b.waitUntil(() => b.received.length >= startB + count, 5_000, `${count} payloads at B`);
  await a.waitUntil(() => a.received.length >= startA + count, 5_000, `${count} payloads at A`);
  const hex = (p: Uint8Array): string => Buffer.from(p).toString('hex');
  expect(new Set(b.received.slice(startB).map((r) => hex(r.payload)))).toEqual(new Set(Array.from({ length: count }, (_, i) => hex(payload(1, i)))));
  expect(new Set(a.received.slice(startA).map((r) => hex(r.payload)))).toEqual(new Set(Array.from({ length: count }, (_, i) => hex(payload(2, i)))));
  expect(b.received.slice(startB).every((r) => r.senderId === a.client.myId)).toBe(true);
  expect(a.received.slice(startA).every((r) => r.senderId === b.client.myId)).toBe(true);
}

describe('reflector clients through the fake reflector on loopback', () => {
  it.each([
    ['UDP', ['udp', 'udp']],
    ['TCP', ['tcp', 'tcp']],
    ['UDP <-> TCP', ['udp', 'tcp']],
  ] as const)('%s: payloads both ways, tags rewritten per receiver', async (_name, transports) => {
    const fake = await reflector();
    const [a, b] = await pair(fake, [...transports]);
    await exchange(a, b, 60);
    expect(fake.flows.get(`${a.client.myId}->${b.client.myId}`)?.packets).toBe(60);
    expect(fake.flows.get(`${b.client.myId}->${a.client.myId}`)?.packets).toBe(60);
    expect(a.client.localCandidate?.hostname).toBe(`reflector-1-${a.client.myId}.reflector`);
    expect(a.client.localCandidate?.port).toBe(fake.port);
    expect(fake.counters.internalErrors).toBe(0);
    expect([a.errors, b.errors]).toEqual([[], []]);
    for (const d of [a, b]) {
      expect(d.client.stats.dropped).toMatchObject({ wrongSource: 0, short: 0, wrongTag: 0, badLength: 0, framing: 0 });
    }
    if (transports[0] === 'tcp') expect(fake.counters.tcpHellos).toBeGreaterThanOrEqual(1);
  });

  it('hostile packets from the reflector and datagrams from unknown sources are dropped and counted', async () => {
    const fake = await reflector();
    const [a, b] = await pair(fake);
    for (const kind of ['garbage', 'wrong-tag', 'bad-length', 'short'] as const) expect(fake.inject(a.client.myId, kind)).toBe(true);
    // A stranger sends a perfectly formed DATA with A's tag straight to A's port.
    const stranger = createSocket('udp4');
    open.push({ close: () => new Promise<void>((r) => stranger.close(() => r())) });
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
    for (let i = 0; i < 3; i++) stranger.send(encodeData(TAG_A, a.client.myId, b.client.myId, Uint8Array.of(6, 6, 6)), a.localPort, '127.0.0.1');
    const d = a.client.stats.dropped;
    await a.waitUntil(() => d.wrongSource === 3 && d.wrongTag === 2 && d.badLength === 1 && d.short === 1, 5_000, 'drops');
    expect(a.received).toEqual([]);
    expect(a.client.state).toBe('ready');
    await exchange(a, b, 10); // still works
  });

  it('10 % loss and 10 % duplication on the reflector path show in the counters', async () => {
    const fake = await reflector({ loss: 0.1, duplicate: 0.1, seed: 5 });
    const [a, b] = await pair(fake);
    const n = 400;
    for (let i = 0; i < n; i++) {
      a.sendTo(b.client.myId, payload(1, i));
      if (i % 10 === 9) await pace();
    }
    await b.waitUntil(() => fake.counters.data >= n && b.received.length >= fake.counters.forwarded + fake.counters.duplicated, 5_000, 'all forwarded');
    const counters = fake.counters;
    expect(counters.data).toBe(n);
    expect(counters.lost + counters.forwarded).toBe(n);
    expect(counters.lost).toBeGreaterThan(20);
    expect(counters.lost).toBeLessThan(70);
    expect(counters.duplicated).toBeGreaterThan(20);
    expect(b.received.length).toBe(counters.forwarded + counters.duplicated);
    expect(b.client.stats.dataIn).toBe(b.received.length);
    expect(new Set(b.received.map((r) => Buffer.from(r.payload).toString('hex'))).size).toBe(counters.forwarded);
  });

  it('a reflector that stops mid-stream: nothing arrives, clients turn unreachable, recover on resume', async () => {
    const fake = await reflector();
    // Short timers so the test takes about a second; the logic is the one tested on a virtual clock.
    const [a, b] = await pair(fake, ['udp', 'udp'], { unreachableAfterMs: 400, probeAfterSilenceMs: 150 });
    await exchange(a, b, 20);
    fake.pause();
    const before = b.received.length;
    for (let i = 0; i < 20; i++) a.sendTo(b.client.myId, payload(1, 100 + i));
    await Promise.all([a, b].map((d) => d.waitUntil(() => d.client.state === 'unreachable', 5_000, 'unreachable')));
    expect(b.received.length).toBe(before);
    expect(fake.counters.whilePaused).toBeGreaterThanOrEqual(20);
    expect(a.states).toEqual(['ready', 'unreachable']);
    fake.resume();
    await Promise.all([a, b].map((d) => d.waitUntil(() => d.client.state === 'ready', 5_000, 'ready again')));
    await exchange(a, b, 20);
    expect(b.states).toEqual(['ready', 'unreachable', 'ready']);
  });

  it('close releases every socket and timer: no network handle is left', async () => {
    await new Promise((r) => setTimeout(r, 20)); // earlier tests' sockets finish closing
    const baseline = netHandles();
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const fake = await FakeReflector.start();
    const drivers = await pair(fake, ['udp', 'tcp']);
    await exchange(drivers[0], drivers[1], 5);
    expect(netHandles()).toBeGreaterThan(baseline);
    await Promise.all(drivers.map((d) => d.close()));
    await fake.close();
    await fake.close(); // idempotent
    open.length = 0;
    await poll(() => netHandles() <= baseline, 'handles are released', 2_000).catch(() => {});
    expect(netHandles()).toBe(baseline);
    expect(drivers.map((d) => d.client.nextDeadline())).toEqual([undefined, undefined]);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timers);
  });
});
