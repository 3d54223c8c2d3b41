/**
 * Relay-only calls between two tgcall phones through a Telegram reflector (issue 12): the fake
 * Telegram runs its own FakeReflector (option `reflector`, faithful to reflector.md) and hands it
 * out as one `phoneConnection` with a per-call peer tag, with `p2p_allowed = false`; it is the only
 * server. Everything real: DH, signaling, both network edges, libjuice, DTLS-SRTP and Opus, on
 * loopback.
 */
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeReflector, FakeTelegramOptions, FakeTelegramReflectorOptions } from '../../src/fake/index.js';
import type { Call, TelegramCallsOptions } from '../../src/index.js';
import { hostAddresses } from '../../src/network/host-addresses.js';
import { BOB, collect, connectCall, ended, expectHears, phones, playTone, resourceBaseline, settled, type Phones } from './helpers.js';

let p: Phones | undefined;
let reflector: FakeReflector | undefined;

afterEach(async () => {
  await p?.close();
  p = undefined;
  reflector = undefined;
});

/** Two phones on a fake Telegram whose own reflector is the call's only server, p2p off. */
async function scene(
  options: FakeTelegramReflectorOptions = {},
  calls: TelegramCallsOptions = {},
  fake: FakeTelegramOptions = {},
): Promise<Phones> {
  p = await phones({ p2pAllowed: false, reflector: options, ...fake }, calls);
  reflector = p.telegram.reflector!;
  return p;
}

/** Connects, checks a tone each way and that the call went through the reflector. */
async function tonesThroughReflector(phones: Phones): Promise<{ outgoing: Call; incoming: Call }> {
  const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
  void playTone(outgoing, 440, 3);
  void playTone(incoming, 880, 3);
  await Promise.all([expectHears(incoming, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);
  for (const call of [outgoing, incoming]) expect(call.getStats().connection!.path).toMatchObject({ kind: 'reflector' });
  return { outgoing, incoming };
}

/**
 * IPv6 reflector addresses are used only when the host has a global IPv6 address (issue 12 item 3:
 * no IPv6 socket on an IPv4-only host), and the test reflector listens on ::1, so both must hold.
 */
async function ipv6Usable(): Promise<boolean> {
  if (hostAddresses(networkInterfaces()).ipv6.length === 0) return false;
  const socket = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '::1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    socket.close();
  }
}
const ipv6 = await ipv6Usable();
if (!ipv6) console.warn('\n*** e2e/reflector.test.ts: no global IPv6 address or no ::1 here: the IPv6 reflector test is skipped ***\n');

/** A UDP port on loopback with nothing behind it. */
async function deadPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('relay-only calls through a Telegram reflector, p2p off', () => {
  it('connect through the reflector alone and carry a tone each way; the path says reflector', async () => {
    const baseline = resourceBaseline();
    const phones = await scene();
    const { outgoing, incoming } = await tonesThroughReflector(phones);
    // The per-call peer tag the fake handed out is what the reflector learned (bytes 0..11, reflector.md §2).
    const tag = Buffer.from(phones.telegram.listCalls()[0]!.peerTag!.subarray(0, 12)).toString('hex');
    expect(reflector!.clients().map((c) => c.tag.slice(0, 24))).toEqual([tag, tag]);
    for (const call of [outgoing, incoming]) {
      const connection = call.getStats().connection!;
      expect(connection.path).toMatchObject({ kind: 'reflector', local: 'relay0', server: `127.0.0.1:${reflector!.port}` });
      // p2p off: no direct route was ever made
      expect(connection.transport.network?.relays).toEqual([expect.objectContaining({ kind: 'reflector', state: 'ready' })]);
    }
    expect(reflector!.counters.forwarded).toBeGreaterThan(150);
    await outgoing.hangup();
    await settled(baseline);
  });

  it('10 % loss and 5 % duplication on the reflector path: connects, tones both ways', async () => {
    const phones = await scene({ loss: 0.1, duplicate: 0.05, seed: 3 });
    const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
    void playTone(outgoing, 440, 3);
    void playTone(incoming, 880, 3);
    await Promise.all([expectHears(incoming, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);
    expect(reflector!.counters.lost).toBeGreaterThan(0);
    expect(reflector!.counters.duplicated).toBeGreaterThan(0);
    expect(incoming.getStats().media.received.lost).toBeGreaterThan(0);
    await outgoing.hangup();
  });

  it('garbage, wrong-tag, bad-length and short datagrams from the reflector are counted drops; the call goes on', async () => {
    const phones = await scene();
    const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
    void playTone(outgoing, 440, 3);
    for (const client of reflector!.clients()) {
      for (let i = 0; i < 20; i++) for (const kind of ['garbage', 'wrong-tag', 'bad-length', 'short'] as const) reflector!.inject(client.id, kind);
    }
    await expectHears(incoming, 440);
    for (const call of [outgoing, incoming]) {
      const dropped = call.getStats().connection!.transport.network!.relays[0]!.dropped;
      expect(dropped.wrongTag, `${call.direction} wrong tag`).toBeGreaterThanOrEqual(20);
      expect(dropped.short, `${call.direction} short`).toBeGreaterThanOrEqual(20);
      expect(call.state).toBe('connected');
    }
    await outgoing.hangup();
  });

  it('a TCP reflector (raw framing, reflector.md §4): connects and carries the tones', async () => {
    const phones = await scene({ useTcp: true });
    const { outgoing } = await tonesThroughReflector(phones);
    await outgoing.hangup();
    expect(reflector!.counters.tcpConnections).toBe(2);
    expect(reflector!.clients().every((c) => c.transport === 'tcp')).toBe(true);
  });

  it.skipIf(!ipv6)('an IPv6 reflector (entry with only ipv6 = ::1): connects over IPv6 and carries the tones', async () => {
    const phones = await scene({ host: '::1' });
    // What the fake hands out: like a real entry's ipv6 half, with no IPv4 address to fall back on.
    expect(reflector!.connection(new Uint8Array(16))).toMatchObject({ ip: '', ipv6: '::1' });
    const { outgoing, incoming } = await tonesThroughReflector(phones);
    for (const call of [outgoing, incoming]) expect(call.getStats().connection!.path).toMatchObject({ kind: 'reflector', server: `[::1]:${reflector!.port}` });
    expect(reflector!.clients().map((c) => c.address)).toEqual([expect.stringMatching(/^\[::1\]:\d+$/), expect.stringMatching(/^\[::1\]:\d+$/)]);
    await outgoing.hangup();
  });

  it('network_standalone_reflectors: no reflector candidate signalled, fixed port ids 1 and 2, still connects', async () => {
    const phones = await scene({}, {}, { customParameters: { network_standalone_reflectors: true } });
    const { outgoing, incoming } = await tonesThroughReflector(phones);
    expect(reflector!.clients().map((c) => c.id).sort()).toEqual([1, 2]);
    // p2p off and standalone: neither side signals a single candidate; each makes up the other's
    for (const call of [outgoing, incoming]) expect(call.getStats().connection!.transport.localCandidates).toBe(0);
    await outgoing.hangup();
  });

  it('an unreachable reflector: both phones end within the connect timeout, and the error says what was tried', async () => {
    const baseline = resourceBaseline();
    const dead = await deadPort();
    // The call's reflector entry, pointed at a port with nothing behind it.
    const phones = await scene({}, { timeouts: { connectMs: 3_000 } }, {
      callSettings: ({ defaults }) => ({ connections: defaults.connections.map((c) => (c.kind === 'reflector' ? { ...c, port: dead } : c)) }),
    });
    const incomingP = new Promise<Call>((resolve) => phones.bob.once('incoming', resolve));
    const outgoing = await phones.alice.call(BOB);
    const incoming = await incomingP;
    void incoming.accept().catch(() => undefined);
    const [endOut, endIn] = await Promise.all([ended(outgoing, 15_000), ended(incoming, 15_000)]);
    const failed = [endOut, endIn].find((e) => e.by === 'local')!;
    expect(failed.error?.code).toBe('CONNECTION_LOST');
    expect(failed.error?.message).toMatch(/relay only \(p2p not allowed\)/);
    expect(failed.error?.message).toMatch(/reflector 127\.0\.0\.1:\d+ (failed|connecting)/);
    await settled(baseline);
  });

  it('a reflector that stops mid-call: the call ends with a clear reason, and nothing is left behind', async () => {
    const baseline = resourceBaseline();
    const phones = await scene({}, { timeouts: { connectMs: 2_000 } });
    const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
    void playTone(outgoing, 440, 30);
    await collect(incoming, 500);
    reflector!.pause();
    // ~6 s of silence, then the 2 s reconnect deadline: the first side to give up ends the call.
    const [endOut, endIn] = await Promise.all([ended(outgoing, 25_000), ended(incoming, 25_000)]);
    const local = [endOut, endIn].filter((e) => e.by === 'local');
    expect(local.length).toBeGreaterThanOrEqual(1);
    for (const e of local) {
      expect(e.error?.code).toBe('CONNECTION_LOST');
      expect(e.error?.message).toMatch(/reflector 127\.0\.0\.1:\d+/);
    }
    await settled(baseline);
  }, 40_000);
});
