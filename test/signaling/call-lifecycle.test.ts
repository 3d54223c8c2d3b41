/**
 * The call lifecycle end to end through the fake Telegram: both roles, decline, busy, missed,
 * hang-ups in every phase, version negotiation, RPC errors, DH config caching.
 */
import { describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../src/crypto/fingerprint.js';
import { FakeTelegram } from '../../src/fake/index.js';
import type { Logger } from '../../src/logger.js';
import { PhoneCalls, type SignalingState } from '../../src/signaling/index.js';
import { ALICE, BOB, CAROL, connect, endedWith, nextIncoming, useSignalingWorld, waitFor, type Setup } from './helpers.js';

function warningLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

// Every account stopped, the fake closed and no Timeout handle left after each test.
const setup = useSignalingWorld();
let s: Setup | undefined;

describe('both roles', () => {
  it('reach ready with the same key, fingerprint, emoji and version; callee hangs up after ready', async () => {
    s = await setup({
      connections: [
        { kind: 'webrtc', ip: '127.0.0.1', port: 3478, username: 'u', password: 'p', turn: true, stun: true },
        { kind: 'reflector', ip: '127.0.0.2', ipv6: '::1', port: 533, peerTag: new Uint8Array(16).fill(7), tcp: true },
      ],
      p2pAllowed: false,
      customParameters: { network_use_tcponly: false },
    });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const outStates: SignalingState[] = [];
    out.on('state', (st) => outStates.push(st));
    let rang = false;
    out.on('ringing', () => (rang = true));
    const inc = await incoming;
    expect(inc.state).toBe('ringing');
    expect(inc.peerUserId).toBe(ALICE);
    const inStates: SignalingState[] = [];
    inc.on('state', (st) => inStates.push(st));
    await waitFor(() => rang);
    inc.accept();
    const [a, b] = await Promise.all([out.whenReady(), inc.whenReady()]);

    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).toBe(true);
    expect(a.key).toHaveLength(256);
    expect(a.keyFingerprint).toBe(b.keyFingerprint);
    expect(a.keyFingerprint).toBe(keyFingerprint(a.key));
    expect(a.emoji).toEqual(b.emoji);
    expect(a.emojiIndices).toEqual(b.emojiIndices);
    expect(a.emoji).toHaveLength(4);
    expect(a.version).toBe('8.0.0');
    expect(b.version).toBe('8.0.0');
    expect([a.isOutgoing, b.isOutgoing]).toEqual([true, false]);
    expect([a.peerUserId, b.peerUserId]).toEqual([BOB, ALICE]);
    expect(a.callId).toBe(b.callId);
    expect(a.p2pAllowed).toBe(false);
    expect(a.customParameters).toEqual({ network_use_tcponly: false });
    expect(b.connections).toEqual([
      { kind: 'webrtc', id: 1n, ip: '127.0.0.1', ipv6: '', port: 3478, username: 'u', password: 'p', turn: true, stun: true },
      { kind: 'reflector', id: 2n, ip: '127.0.0.2', ipv6: '::1', port: 533, peerTag: new Uint8Array(16).fill(7), tcp: true },
    ]);
    expect(outStates).toEqual(['waiting', 'ringing', 'exchanging-keys', 'ready']);
    expect(inStates).toEqual(['accepting', 'exchanging-keys', 'ready']);
    const server = s.tg.getCall(a.callId)!;
    expect(server).toMatchObject({ state: 'active', version: '8.0.0', adminId: ALICE, participantId: BOB });
    expect(server.receiveDate).toBeTypeOf('number');

    s.clock.advance(7_000);
    inc.hangup();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endIn, { reason: 'hangup', by: 'local', duration: 7, needRating: true, error: undefined });
    endedWith(endOut, { reason: 'hangup', by: 'remote', duration: 7, needRating: true, error: undefined });
    expect(s.tg.getCall(a.callId)).toMatchObject({ state: 'discarded', discardReason: 'hangup', discardedBy: BOB, duration: 7 });
  });

  it('caller hangs up after ready with its measured duration', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    s.clock.advance(2_500);
    out.hangup();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endOut, { reason: 'hangup', by: 'local', duration: 2 });
    endedWith(endIn, { reason: 'hangup', by: 'remote', duration: 2 });
  });

  it('rejects API misuse without disturbing the call', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    expect(() => inc.accept()).toThrow(expect.objectContaining({ code: 'BAD_STATE' }));
    await expect(s.alice.call(BOB)).rejects.toMatchObject({ code: 'ALREADY_IN_CALL' });
    expect(out.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
  });
});

describe('refusals', () => {
  it('decline: the callee refuses with busy (the official clients’ reason), the caller sees it', async () => {
    s = await setup();
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    inc.decline();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endIn, { reason: 'busy', by: 'local', duration: 0, needRating: false });
    endedWith(endOut, { reason: 'busy', by: 'remote', duration: 0 });
    await expect(out.whenReady()).rejects.toMatchObject({ code: 'CALL_ENDED' });
  });

  it('decline with hangup when asked', async () => {
    s = await setup();
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    (await incoming).decline('hangup');
    endedWith(await out.whenEnded(), { reason: 'hangup', by: 'remote' });
  });

  it('busy (server): a call to a user already in a call is discarded with busy', async () => {
    s = await setup();
    const carol = new PhoneCalls({ mtproto: s.tg.createClient(CAROL, 'carol') });
    const { out, inc } = await connect(s);
    let bobRang = false;
    s.bob.on('incoming', () => (bobRang = true));
    const third = await carol.call(BOB);
    endedWith(await third.whenEnded(), { reason: 'busy', by: 'remote' });
    expect(bobRang).toBe(false);
    expect(out.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
    await carol.stop();
  });

  it('busy (client): the callee refuses with phone.discardCall(busy) while in another call', async () => {
    s = await setup({ busy: 'client' });
    const carol = new PhoneCalls({ mtproto: s.tg.createClient(CAROL, 'carol') });
    const { out, inc } = await connect(s);
    const third = await carol.call(BOB);
    endedWith(await third.whenEnded(), { reason: 'busy', by: 'remote' });
    expect(s.bob.getStats().busyRejected).toBe(1);
    expect(s.tg.getCall(third.callId!)).toMatchObject({ discardReason: 'busy', discardedBy: BOB });
    expect(inc.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
    await carol.stop();
  });

  it('privacy: USER_PRIVACY_RESTRICTED ends the caller with that code', async () => {
    s = await setup();
    s.tg.setCallsAllowed(BOB, false);
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'USER_PRIVACY_RESTRICTED' });
    expect(out.callId).toBeUndefined();
    expect(s.tg.listCalls()).toHaveLength(0);
  });
});

describe('missed and timeouts', () => {
  it("caller's ring timeout: missed on both sides", async () => {
    s = await setup({}, { alice: { timeouts: { ringMs: 150 } } });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endOut, { reason: 'missed', by: 'local', code: 'RING_TIMEOUT' });
    endedWith(endIn, { reason: 'missed', by: 'remote', error: undefined });
  });

  it("callee's ring timeout: missed on both sides", async () => {
    s = await setup({}, { bob: { timeouts: { ringMs: 150 } } });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endIn, { reason: 'missed', by: 'local', code: 'RING_TIMEOUT' });
    endedWith(endOut, { reason: 'missed', by: 'remote' });
  });

  it("server's ring timeout: missed on both sides", async () => {
    s = await setup({ ringTimeoutMs: 100 });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endOut, { reason: 'missed', by: 'remote' });
    endedWith(endIn, { reason: 'missed', by: 'remote' });
  });

  it('receive timeout: the callee never confirms receipt', async () => {
    const tg = new FakeTelegram({ seed: 3 });
    const bobClient = tg.createClient(BOB, 'bob');
    bobClient.close(); // offline: no updates, no phone.receivedCall
    const alice = new PhoneCalls({ mtproto: tg.createClient(ALICE), timeouts: { receiveMs: 150 } });
    const out = await alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'missed', by: 'local', code: 'RECEIVE_TIMEOUT' });
    expect(tg.getCall(out.callId!)).toMatchObject({ state: 'discarded', discardReason: 'missed' });
    await alice.stop();
    tg.close();
    expect(tg.pendingTimers).toBe(0);
  });

  it('connect timeout after ready unless the transport reports connected', async () => {
    s = await setup({}, { alice: { timeouts: { connectMs: 120 } } });
    const { out, inc } = await connect(s);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'CONNECT_TIMEOUT' });
    endedWith(await inc.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('markConnected() stops the connect deadline', async () => {
    s = await setup({}, { alice: { timeouts: { connectMs: 80 } } });
    const { out, inc } = await connect(s);
    out.markConnected();
    await new Promise((r) => setTimeout(r, 200));
    expect(out.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
  });

  it('caller hangs up while ringing: missed', async () => {
    s = await setup();
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    await waitFor(() => out.state === 'ringing');
    out.hangup();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endOut, { reason: 'missed', by: 'local', duration: 0 });
    endedWith(endIn, { reason: 'missed', by: 'remote', duration: 0 });
  });

  it('caller hangs up before the server returned the call id: discarded once it is known', async () => {
    s = await setup({ resultDelayMs: 60 });
    const out = await s.alice.call(BOB);
    await waitFor(() => s!.tg.requestLog.some((r) => r.method === 'phone.RequestCall'));
    expect(out.callId).toBeUndefined();
    out.hangup();
    expect(out.state).toBe('ending');
    endedWith(await out.whenEnded(), { reason: 'missed', by: 'local' });
    const [server] = s.tg.listCalls();
    expect(server).toMatchObject({ state: 'discarded', discardReason: 'missed', discardedBy: ALICE });
  });

  it('hanging up during the DH config fetch ends at once without a server call', async () => {
    s = await setup({ resultDelayMs: 40 });
    const out = await s.alice.call(BOB);
    out.hangup();
    expect(out.state).toBe('ended');
    endedWith(await out.whenEnded(), { reason: 'missed', by: 'local' });
    await new Promise((r) => setTimeout(r, 80));
    expect(s.tg.listCalls()).toHaveLength(0);
  });
});

describe('versions', () => {
  it('by default both sides advertise 8.0.0 only (official-clients.md §1), and the call runs on it', async () => {
    s = await setup();
    const advertised: unknown[] = [];
    s.tg.hooks.request = ({ request }) => {
      if (request.className === 'phone.RequestCall' || request.className === 'phone.AcceptCall' || request.className === 'phone.ConfirmCall') {
        advertised.push((request.protocol as { libraryVersions: unknown }).libraryVersions);
      }
    };
    const { readyOut, readyIn, out, inc } = await connect(s);
    expect(advertised).toEqual([['8.0.0'], ['8.0.0'], ['8.0.0']]);
    expect([readyOut.version, readyIn.version]).toEqual(['8.0.0', '8.0.0']);
    out.hangup();
    await inc.whenEnded();
  });

  it('the server picks the first of the caller’s versions the callee lists', async () => {
    s = await setup({}, { alice: { libraryVersions: ['13.0.0', '8.0.0'] }, bob: { libraryVersions: ['8.0.0', '13.0.0'] } });
    const { readyOut, readyIn, out, inc } = await connect(s);
    expect(readyOut.version).toBe('13.0.0');
    expect(readyIn.version).toBe('13.0.0');
    out.hangup();
    await inc.whenEnded();
  });

  it('a server that puts the call on 9.0.0 unasked is followed, with one warning per side', async () => {
    const warnings: string[] = [];
    const logger = warningLogger(warnings);
    s = await setup({ chooseVersion: () => '9.0.0' }, { alice: { logger }, bob: { logger } });
    const { readyOut, readyIn, out, inc } = await connect(s);
    expect([readyOut.version, readyIn.version]).toEqual(['9.0.0', '9.0.0']);
    expect(warnings.filter((w) => w.includes('ambiguous library version') && w.includes('9.0.0'))).toHaveLength(2);
    out.hangup();
    await inc.whenEnded();
  });

  it('a version we cannot speak ends the call on both sides with UNSUPPORTED_VERSION', async () => {
    s = await setup({ chooseVersion: () => '11.0.0' });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    inc.accept();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endOut, { reason: 'disconnect', by: 'local', code: 'UNSUPPORTED_VERSION' });
    expect(endIn.reason).toBe('disconnect');
    await expect(out.whenReady()).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
  });

  it('no common version: phone.acceptCall fails with CALL_PROTOCOL_COMPAT_LAYER_INVALID', async () => {
    s = await setup({}, { bob: { libraryVersions: ['7.0.0'] } });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    inc.accept();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    endedWith(endIn, { reason: 'disconnect', by: 'local', code: 'CALL_PROTOCOL_COMPAT_LAYER_INVALID' });
    endedWith(endOut, { reason: 'disconnect', by: 'remote' });
  });
});

describe('server behaviour the client relies on', () => {
  it('reuses the cached DH group when the server answers dhConfigNotModified', async () => {
    s = await setup();
    const dhReplies: string[] = [];
    s.tg.hooks.result = ({ request, result }) => {
      if (request.className === 'messages.GetDhConfig') dhReplies.push((result as { className: string }).className);
      return result;
    };
    for (let i = 0; i < 2; i++) {
      const { out, inc } = await connect(s);
      out.hangup();
      await Promise.all([out.whenEnded(), inc.whenEnded()]);
    }
    // alice and bob each: full config first, then "not modified" with a fresh random.
    expect(dhReplies).toEqual(['messages.DhConfig', 'messages.DhConfig', 'messages.DhConfigNotModified', 'messages.DhConfigNotModified']);
  });

  it('copes with update containers and with updates that overtake results', async () => {
    s = await setup({ updateContainers: 'mixed', resultDelayMs: 30 });
    const { out, inc, readyOut, readyIn } = await connect(s);
    expect(readyOut.keyFingerprint).toBe(readyIn.keyFingerprint);
    // phoneCallWaiting(receive_date) reached alice before the requestCall result: held, then replayed.
    expect(s.alice.getStats().unknownCallUpdates).toBeGreaterThan(0);
    expect(out.getStats().unexpected).toBe(0);
    out.hangup();
    await inc.whenEnded();
  });

  it('rating and debug data after the end', async () => {
    s = await setup({ needDebug: true });
    const { out, inc } = await connect(s);
    out.hangup();
    const end = await out.whenEnded();
    expect(end).toMatchObject({ needRating: true, needDebug: true });
    await out.setCallRating(4, 'fine');
    await inc.saveCallDebug('{"k":1}');
    const server = s.tg.getCall(out.callId!)!;
    expect(server.rating).toEqual({ from: ALICE, rating: 4, comment: 'fine' });
    expect(server.debug).toEqual(['{"k":1}']);
    // misuse is a typed error like every other, and nothing reaches the server
    await expect(out.setCallRating(9)).rejects.toMatchObject({ name: 'CallSignalingError', code: 'BAD_RATING' });
    await expect(out.setCallRating(2.5)).rejects.toMatchObject({ code: 'BAD_RATING' });
    await expect(inc.saveCallDebug('{not json')).rejects.toMatchObject({ name: 'CallSignalingError', code: 'BAD_DEBUG_JSON' });
    expect(s.tg.getCall(out.callId!)!.debug).toEqual(['{"k":1}']);
  });

  it('a throwing host listener neither breaks the call nor escapes', async () => {
    s = await setup();
    s.bob.on('incoming', () => {
      throw new Error('host bug');
    });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    out.on('state', () => {
      throw new Error('host bug');
    });
    out.on('ready', () => {
      throw new Error('host bug');
    });
    // listeners after a throwing one still run
    const states: string[] = [];
    out.on('state', (state) => states.push(state));
    const ended: string[] = [];
    out.on('ended', () => {
      throw new Error('host bug');
    });
    out.on('ended', (info) => ended.push(info.reason));
    const inc = await incoming;
    inc.accept();
    await Promise.all([out.whenReady(), inc.whenReady()]);
    out.hangup();
    await Promise.all([out.whenEnded(), inc.whenEnded()]);
    expect(states).toContain('ready');
    expect(states.at(-1)).toBe('ended');
    expect(ended).toEqual(['hangup']);
  });
});
