/**
 * The GramJS adapter against a real `TelegramClient`, without a network: updates go through
 * GramJS's own update handling (`_handleUpdate`: container unwrapping, event builders, dispatch),
 * and requests through the client's real `invoke`, which fails offline like a dropped connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Api, Logger, TelegramClient } from 'telegram';
import { LogLevel } from 'telegram/extensions/Logger.js';
import { _handleUpdate } from 'telegram/client/updates.js';
import { StringSession } from 'telegram/sessions/index.js';
import { GramJsMtproto, PhoneCalls, toLong, type IncomingCallSignaling, type MtprotoClient } from '../../src/signaling/index.js';
import { liveTimeouts, waitFor } from './helpers.js';

const SELF = 5150n;
const PEER = 6160n;

function offlineClient(): TelegramClient {
  const client = new TelegramClient(new StringSession(''), 12345, '0123456789abcdef0123456789abcdef', {
    connectionRetries: 0,
    baseLogger: new Logger(LogLevel.NONE),
  });
  // What GramJS caches after login; getMe(true) answers from it.
  client._selfInputPeer = new Api.InputPeerUser({ userId: toLong(SELF), accessHash: toLong(99n) });
  return client;
}

function requested(id: bigint): Api.UpdatePhoneCall {
  return new Api.UpdatePhoneCall({
    phoneCall: new Api.PhoneCallRequested({
      id: toLong(id),
      accessHash: toLong(77n),
      date: Math.floor(Date.now() / 1000),
      adminId: toLong(PEER),
      participantId: toLong(SELF),
      gAHash: Buffer.alloc(32, 3),
      protocol: new Api.PhoneCallProtocol({ udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0'] }),
    }),
  });
}

let baseline = 0;
afterEach(async () => {
  await new Promise((r) => setImmediate(r));
  expect(liveTimeouts()).toBeLessThanOrEqual(baseline);
});

describe('GramJsMtproto', () => {
  it('type-checks against TelegramClient and reads our id from getMe(true)', async () => {
    baseline = liveTimeouts();
    const client = offlineClient();
    const mtproto: MtprotoClient = new GramJsMtproto(client);
    expect(await mtproto.getSelfUserId()).toBe(SELF);
    expect(mtproto.api).toBe(Api);
  });

  it('receives Raw updates dispatched through GramJS, containers included, until unsubscribed', async () => {
    baseline = liveTimeouts();
    const client = offlineClient();
    const mtproto = new GramJsMtproto(client);
    const seen: string[] = [];
    const unsubscribe = mtproto.onUpdate((u) => seen.push((u as { className: string }).className));
    // GramJS types _handleUpdate for single updates, but its sender passes containers as they come.
    _handleUpdate(client, new Api.UpdateShort({ update: requested(1n), date: 1 }) as never);
    _handleUpdate(
      client,
      new Api.Updates({
        updates: [new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(1n), data: Buffer.from([1]) })],
        users: [],
        chats: [],
        date: 1,
        seq: 0,
      }) as never,
    );
    await waitFor(() => seen.length === 2);
    // GramJS dispatches each update asynchronously, so the two may arrive in either order.
    expect([...seen].sort()).toEqual(['UpdatePhoneCall', 'UpdatePhoneCallSignalingData']);
    unsubscribe();
    _handleUpdate(client, requested(2n));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(2);
    expect(client.listEventHandlers()).toHaveLength(0);
  });

  it('drives PhoneCalls: an incoming call rings, then fails cleanly because the client is offline', async () => {
    baseline = liveTimeouts();
    const client = offlineClient();
    const calls = new PhoneCalls({ mtproto: new GramJsMtproto(client) });
    await calls.start();
    const incoming = new Promise<IncomingCallSignaling>((resolve) => calls.once('incoming', resolve));
    _handleUpdate(client, requested(42n));
    const call = await incoming;
    expect(call.peerUserId).toBe(PEER);
    expect(call.callId).toBe(42n);
    // phone.receivedCall went to the real TelegramClient.invoke, which cannot send offline.
    const end = await call.whenEnded();
    expect(end).toMatchObject({ reason: 'disconnect', by: 'local', error: { code: 'NETWORK_ERROR' } });
    await calls.stop();
    expect(client.listEventHandlers()).toHaveLength(0);
  });

  it('an outgoing call over an offline client ends with NETWORK_ERROR, nothing thrown', async () => {
    baseline = liveTimeouts();
    const client = offlineClient();
    const calls = new PhoneCalls({ mtproto: new GramJsMtproto(client) });
    const out = await calls.call(PEER, { accessHash: 5n });
    const end = await out.whenEnded();
    expect(end.error?.code).toBe('NETWORK_ERROR');
    await calls.stop();
  });
});
