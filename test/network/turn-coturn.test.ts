/**
 * The TURN and Binding clients against a real coturn on loopback (test/helpers/turn-server.ts),
 * each driven by the thin dgram adapter of udp-driver.ts: two clients allocate, permit each other's
 * relayed addresses and exchange data both ways (Send indications first, ChannelData once bound);
 * typed failures for wrong credentials, a denied peer and the allocation quota; close releases the
 * allocation; a short lifetime is refreshed (through 438 Stale Nonce); IPv6 relays; srflx discovery.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/network/endpoint.js';
import { StunBindingClient, type StunBindingEvent } from '../../src/network/stun-binding.js';
import { TurnClient, type TurnClientOptions, type TurnEvent } from '../../src/network/turn-client.js';
import { startTurnServer, turnGate, type TurnServer } from '../helpers/turn-server.js';
import { UdpDriver } from './udp-driver.js';

const enabled = turnGate('network/turn-coturn.test.ts');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
type Turn = UdpDriver<TurnEvent> & { core: TurnClient };
type Allocated = Extract<TurnEvent, { type: 'allocated' }>;
type Data = Extract<TurnEvent, { type: 'data' }>;

const drivers: UdpDriver<unknown>[] = [];

async function open(turn: TurnServer, options: Partial<TurnClientOptions> = {}, local = '127.0.0.1'): Promise<Turn> {
  const core = new TurnClient({ server: { address: turn.ip, port: turn.port }, username: turn.username, password: turn.password, ...options });
  const driver = (await UdpDriver.open<TurnEvent>(core, local)) as Turn;
  drivers.push(driver as UdpDriver<unknown>);
  return driver;
}

async function allocate(turn: TurnServer, options: Partial<TurnClientOptions> = {}, local?: string): Promise<{ d: Turn; relayed: Endpoint; mapped: Endpoint | undefined }> {
  const d = await open(turn, options, local);
  d.run((now) => d.core.start(now));
  const e = (await d.waitFor((x) => x.type === 'allocated' || x.type === 'failed')) as Allocated;
  if (e.type !== 'allocated') throw new Error(`allocation failed: ${JSON.stringify(e)}`);
  return { d, relayed: e.relayed, mapped: e.mapped };
}

const text = (e: Data): string => Buffer.from(e.payload).toString();
const received = (d: Turn, prefix: string): Data[] => d.events.filter((e): e is Data => e.type === 'data' && text(e).startsWith(prefix));

/** Sends `prefix<i>` from `from` to `to` every 20 ms until `done()` (bounded: 150 sends). */
async function pump(from: Turn, to: Endpoint, prefix: string, done: () => boolean): Promise<number> {
  let i = 0;
  for (; i < 150 && !done(); i += 1) {
    const n = i;
    from.run((now) => from.core.send(to, Buffer.from(`${prefix}${n}`), now));
    await sleep(20);
  }
  return i;
}

afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

describe.skipIf(!enabled)('TURN client against coturn (IPv4)', () => {
  let turn: TurnServer;

  beforeAll(async () => {
    // relayed sockets on another loopback IP than the clients' (see TurnServerOptions.relayIp)
    turn = await startTurnServer({
      listeningIp: '127.0.0.1',
      relayIp: '127.0.0.2',
      extraArgs: ['--denied-peer-ip=127.0.0.9'],
    });
  });
  afterAll(async () => {
    await turn?.stop();
  });

  it('two clients relay to each other both ways: Send indications, then ChannelData', async () => {
    const a = await allocate(turn);
    const b = await allocate(turn);
    expect(a.relayed.address).toBe('127.0.0.2');
    expect(a.mapped).toEqual(a.d.local);
    // B must permit A's relayed IP before A's data can reach it (and vice versa: the same IP here)
    b.d.run((now) => b.d.core.permit(a.relayed.address, now));

    await pump(a.d, b.relayed, 'a', () => a.d.core.stats.sent.channelData >= 3 && received(b.d, 'a').length >= 4);
    expect(a.d.core.stats.sent.sendIndications).toBeGreaterThanOrEqual(1);
    expect(a.d.core.stats.sent.channelData).toBeGreaterThanOrEqual(3);
    expect(received(b.d, 'a').every((e) => e.peer.address === a.relayed.address && e.peer.port === a.relayed.port)).toBe(true);
    expect(received(b.d, 'a')[0] && text(received(b.d, 'a')[0]!)).toBe('a0'); // the queued first packet arrived
    // B has no channel to A yet: the server wraps A's data in Data indications
    expect(b.d.core.stats.received.dataIndications).toBeGreaterThanOrEqual(1);

    await pump(b.d, a.relayed, 'b', () => b.d.core.stats.sent.channelData >= 3 && received(a.d, 'b').length >= 4);
    expect(b.d.core.stats.sent.sendIndications).toBeGreaterThanOrEqual(1);
    expect(received(a.d, 'b').every((e) => e.peer.port === b.relayed.port)).toBe(true);
    // A bound a channel to B's relayed address, so B's data reaches A as ChannelData
    expect(a.d.core.stats.received.channelData).toBeGreaterThanOrEqual(1);

    // and now B has a channel to A as well
    await pump(a.d, b.relayed, 'again', () => b.d.core.stats.received.channelData >= 2);
    expect(b.d.core.stats.received.channelData).toBeGreaterThanOrEqual(2);
    for (const d of [a.d, b.d]) {
      const s = d.core.stats;
      expect([s.dropped.badIntegrity, s.dropped.malformed, s.dropped.unknownChannel, s.dropped.unpermittedPeer, s.channelFailures]).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it('wrong credentials fail with TURN_UNAUTHORIZED', async () => {
    const d = await open(turn, { password: 'not-the-password' });
    d.run((now) => d.core.start(now));
    expect(await d.waitFor((e) => e.type === 'failed')).toMatchObject({ type: 'failed', code: 'TURN_UNAUTHORIZED', status: 401 });
    expect(d.core.nextDeadline()).toBeUndefined();
  });

  it('a denied peer fails its permission with 403; the allocation lives on', async () => {
    const a = await allocate(turn);
    a.d.run((now) => a.d.core.send({ address: '127.0.0.9', port: 5000 }, Buffer.from('x'), now));
    expect(await a.d.waitFor((e) => e.type === 'permission-failed')).toMatchObject({ address: '127.0.0.9', status: 403 });
    expect(a.d.core.state).toBe('allocated');
  });

  it('discovers our server-reflexive address with a Binding request', async () => {
    const core = new StunBindingClient({ server: { address: turn.ip, port: turn.port } });
    const d = await UdpDriver.open<StunBindingEvent>(core);
    drivers.push(d as UdpDriver<unknown>);
    d.run((now) => core.start(now));
    const e = await d.waitFor((x) => x.type === 'mapped');
    expect(e).toMatchObject({ type: 'mapped', mapped: d.local });
  });
});

describe.skipIf(!enabled)('TURN client against coturn: quota and release', () => {
  let turn: TurnServer;

  beforeAll(async () => {
    turn = await startTurnServer({ listeningIp: '127.0.0.1', relayIp: '127.0.0.2', extraArgs: ['--user-quota=1'] });
  });
  afterAll(async () => {
    await turn?.stop();
  });

  it('a second allocation fails with TURN_QUOTA_REACHED until close() releases the first', async () => {
    const a = await allocate(turn);
    const refused = await open(turn);
    refused.run((now) => refused.core.start(now));
    expect(await refused.waitFor((e) => e.type === 'failed')).toMatchObject({ code: 'TURN_QUOTA_REACHED', status: 486 });
    await a.d.close(); // Refresh LIFETIME=0
    // coturn frees the quota on its cleanup timer (~1 s after the Refresh, measured here): poll, bounded
    let allocated = false;
    for (let i = 0; i < 20 && !allocated; i += 1) {
      await sleep(250);
      const c = await open(turn);
      c.run((now) => c.core.start(now));
      allocated = (await c.waitFor((e) => e.type === 'allocated' || e.type === 'failed')).type === 'allocated';
      if (!allocated) await c.close();
    }
    expect(allocated).toBe(true);
  });
});

describe.skipIf(!enabled)('TURN client against coturn: short lifetime, stale nonces', () => {
  let turn: TurnServer;

  beforeAll(async () => {
    turn = await startTurnServer({ listeningIp: '127.0.0.1', relayIp: '127.0.0.2', extraArgs: ['--max-allocate-lifetime=2', '--stale-nonce=1'] });
  });
  afterAll(async () => {
    await turn?.stop();
  });

  it('refreshes a 2 s allocation before it expires and relays after 3 s', async () => {
    const a = await allocate(turn);
    const b = await allocate(turn);
    expect((a.d.events[0] as Allocated).lifetimeSec).toBe(2);
    b.d.run((now) => b.d.core.permit(a.relayed.address, now));
    await sleep(3_000); // 1.5 lifetimes: refreshed at 1 s and 2 s
    expect([a.d.core.state, b.d.core.state]).toEqual(['allocated', 'allocated']);
    expect(a.d.events.filter((e) => e.type === 'failed')).toEqual([]);
    await pump(a.d, b.relayed, 'late', () => received(b.d, 'late').length >= 2);
    expect(received(b.d, 'late').length).toBeGreaterThanOrEqual(2);
    // nonces expire every second: some requests went through 438 Stale Nonce and were retried
    expect(a.d.core.stats.staleNonceRetries + b.d.core.stats.staleNonceRetries).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(!enabled)('TURN client against coturn (IPv6)', () => {
  let turn: TurnServer;

  beforeAll(async () => {
    turn = await startTurnServer({ listeningIp: '::1', relayIp: '::1' });
  });
  afterAll(async () => {
    await turn?.stop();
  });

  it('allocates IPv6 relays and relays between them', async () => {
    const a = await allocate(turn, {}, '::1');
    const b = await allocate(turn, {}, '::1');
    expect([a.relayed.address, a.d.core.family]).toEqual(['::1', 6]);
    b.d.run((now) => b.d.core.permit(a.relayed.address, now));
    await pump(a.d, b.relayed, 'v6-', () => received(b.d, 'v6-').length >= 3);
    expect(received(b.d, 'v6-').length).toBeGreaterThanOrEqual(3);
  });
});
