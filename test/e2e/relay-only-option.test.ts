/**
 * `TelegramCallsOptions.relayOnly`: the application forces relays although the server allows p2p.
 * The fake Telegram hands out one reflector (with a peer tag) and `p2p_allowed = true`; without
 * the option the phones take the direct loopback path, with it they go through the reflector and
 * no direct route is ever made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeReflector, FakeTelegram } from '../../src/fake/index.js';
import { TelegramCalls, type TelegramCallsOptions } from '../../src/index.js';
import { BOB, audioPasses, connectCall, phones, type Phones } from './helpers.js';

const TAG = new Uint8Array(Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'));

let reflector: FakeReflector | undefined;
let p: Phones | undefined;

afterEach(async () => {
  await p?.close();
  p = undefined;
  await reflector?.close();
  reflector = undefined;
});

async function scene(relayOnly: boolean): Promise<Phones> {
  reflector = await FakeReflector.start({ host: '127.0.0.1', tcp: false });
  const connection = { kind: 'reflector' as const, id: 7n, ip: '127.0.0.1', port: reflector.port, peerTag: TAG };
  p = await phones({ p2pAllowed: true, connections: [connection] }, relayOnly ? { relayOnly: true } : {});
  return p;
}

describe('the relayOnly option', () => {
  it('p2p allowed, option off: the call goes direct', async () => {
    const { alice, bob } = await scene(false);
    const { outgoing, incoming } = await connectCall(alice, bob, BOB, 15_000);
    for (const call of [outgoing, incoming]) expect(call.getStats().connection!.path?.kind).toBe('host');
    await outgoing.hangup();
  });

  it('p2p allowed, option on: the call goes through the reflector, no direct route, audio passes', async () => {
    const { alice, bob } = await scene(true);
    const { outgoing, incoming } = await connectCall(alice, bob, BOB, 15_000);
    for (const call of [outgoing, incoming]) {
      const connection = call.getStats().connection!;
      expect(connection.path).toMatchObject({ kind: 'reflector', server: `127.0.0.1:${reflector!.port}` });
      expect(connection.transport.network?.relays).toEqual([expect.objectContaining({ kind: 'reflector' })]);
      // no host or server-reflexive candidate went to the peer
      expect(connection.transport.localCandidates).toBe(1);
    }
    expect(await audioPasses(outgoing, incoming)).toBeGreaterThanOrEqual(0.9);
    expect(reflector!.counters.forwarded).toBeGreaterThan(0);
    await outgoing.hangup();
  });

  it('anything but a boolean is refused with INVALID_OPTION (a string "false" would be truthy)', () => {
    const telegram = new FakeTelegram();
    try {
      const make = (relayOnly: unknown) => new TelegramCalls(telegram.createClient(1n, 'me'), { relayOnly } as TelegramCallsOptions);
      for (const bad of ['false', 1, null]) expect(() => make(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      expect(() => make(false)).not.toThrow();
      expect(() => make(undefined)).not.toThrow();
    } finally {
      telegram.close();
    }
  });
});
