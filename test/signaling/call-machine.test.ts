/**
 * The sans-I/O call state machine driven by hand: no server, no sockets, no timers — a fixed
 * clock, deterministic randomness, and TL results built from GramJS classes.
 */
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { fromHex } from '../../src/crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../../src/crypto/dh-config.js';
import { SeededRandom } from '../../src/fake/index.js';
import {
  CallMachine,
  DEFAULT_CALL_TIMEOUTS,
  DhConfigCache,
  decodePhoneCall,
  toLong,
  type CallDirection,
  type CallProtocolRecord,
  type CallRequest,
  type MachineOutput,
  type PhoneCallRecord,
} from '../../src/signaling/index.js';

const CALLER = 11n;
const CALLEE = 22n;
const CALL_ID = 987654321n;
const ACCESS_HASH = -123456789n;
const PROTOCOL: CallProtocolRecord = { udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0', '8.0.0'] };

function machine(direction: CallDirection, seed: number): CallMachine {
  const rng = new SeededRandom(seed);
  return new CallMachine({
    direction,
    selfId: direction === 'outgoing' ? CALLER : CALLEE,
    peerId: direction === 'outgoing' ? CALLEE : CALLER,
    timeouts: DEFAULT_CALL_TIMEOUTS,
    dhCache: new DhConfigCache(),
    protocol: PROTOCOL,
    randomBytes: (n) => rng.bytes(n),
  });
}

function dhConfig(seed: number): Api.messages.DhConfig {
  return new Api.messages.DhConfig({ g: 3, p: Buffer.from(fromHex(TELEGRAM_DH_PRIME_HEX)), version: 1, random: Buffer.from(new SeededRandom(seed).bytes(256)) });
}

function invokes(outputs: MachineOutput[]): { id: number; request: CallRequest }[] {
  return outputs.filter((o): o is Extract<MachineOutput, { type: 'invoke' }> => o.type === 'invoke');
}

function only<M extends CallRequest['method']>(outputs: MachineOutput[], method: M): { id: number; request: Extract<CallRequest, { method: M }> } {
  const list = invokes(outputs).filter((i) => i.request.method === method);
  expect(list).toHaveLength(1);
  return list[0] as { id: number; request: Extract<CallRequest, { method: M }> };
}

const header = {
  id: toLong(CALL_ID),
  accessHash: toLong(ACCESS_HASH),
  date: 1_700_000_000,
  adminId: toLong(CALLER),
  participantId: toLong(CALLEE),
  protocol: new Api.PhoneCallProtocol({ udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0', '8.0.0'] }),
};

const waiting = (receiveDate?: number): Api.PhoneCallWaiting =>
  new Api.PhoneCallWaiting({ ...header, ...(receiveDate === undefined ? {} : { receiveDate }) });
const result = (phoneCall: Api.TypePhoneCall): Api.phone.PhoneCall => new Api.phone.PhoneCall({ phoneCall, users: [] });
const record = (call: Api.TypePhoneCall): PhoneCallRecord => decodePhoneCall(call);

/** Caller and callee machines up to the point where the caller has sent confirmCall. */
function exchange(): {
  caller: CallMachine;
  callee: CallMachine;
  confirm: { id: number; request: Extract<CallRequest, { method: 'confirmCall' }> };
  gB: Uint8Array;
} {
  const caller = machine('outgoing', 1);
  caller.startOutgoing(0);
  const dhA = only(caller.takeOutputs(), 'getDhConfig');
  caller.handleResult(dhA.id, dhConfig(100), 0);
  const requestCall = only(caller.takeOutputs(), 'requestCall');
  const request = requestCall.request;
  caller.handleResult(requestCall.id, result(waiting()), 10);
  caller.takeOutputs();

  const callee = machine('incoming', 2);
  callee.startIncoming(record(new Api.PhoneCallRequested({ ...header, gAHash: Buffer.from(request.gAHash) })), 20);
  callee.takeOutputs();
  callee.accept(30);
  const dhB = only(callee.takeOutputs(), 'getDhConfig');
  callee.handleResult(dhB.id, dhConfig(200), 30);
  const accept = only(callee.takeOutputs(), 'acceptCall');
  callee.handleResult(accept.id, result(waiting(1_700_000_001)), 40);
  expect(callee.state).toBe('exchanging-keys');

  caller.handleCall(record(waiting(1_700_000_001)), 40);
  caller.handleCall(record(new Api.PhoneCallAccepted({ ...header, gB: Buffer.from(accept.request.gB) })), 50);
  const confirm = only(caller.takeOutputs(), 'confirmCall');
  return { caller, callee, confirm, gB: accept.request.gB };
}

function finalCall(gAOrB: Uint8Array, fingerprint: bigint): Api.PhoneCall {
  return new Api.PhoneCall({
    ...header,
    protocol: new Api.PhoneCallProtocol({ udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0'] }),
    gAOrB: Buffer.from(gAOrB),
    keyFingerprint: toLong(fingerprint),
    connections: [],
    startDate: 1_700_000_002,
  });
}

describe('CallMachine', () => {
  it('caller: getDhConfig, requestCall with a 32-byte g_a_hash and the advertised protocol', () => {
    const m = machine('outgoing', 5);
    m.startOutgoing(0);
    const dh = only(m.takeOutputs(), 'getDhConfig');
    expect(dh.request).toEqual({ method: 'getDhConfig', version: 0, randomLength: 256 });
    m.handleResult(dh.id, dhConfig(1), 0);
    const req = only(m.takeOutputs(), 'requestCall').request;
    expect(req.gAHash).toHaveLength(32);
    expect(req.protocol).toEqual(PROTOCOL);
    expect(req.video).toBe(false);
    expect(Number.isInteger(req.randomId) && req.randomId >= -(2 ** 31) && req.randomId < 2 ** 31).toBe(true);
    expect(m.nextDeadline()).toBe(DEFAULT_CALL_TIMEOUTS.receiveMs);
  });

  it('both sides agree on key, fingerprint and emoji, hand-driven', () => {
    const { caller, callee, confirm } = exchange();
    callee.handleCall(record(finalCall(confirm.request.gA, confirm.request.keyFingerprint)), 60);
    const readyB = callee.takeOutputs().find((o) => o.type === 'ready');
    caller.handleResult(confirm.id, result(finalCall(new Uint8Array(0), confirm.request.keyFingerprint)), 60);
    const readyA = caller.takeOutputs().find((o) => o.type === 'ready');
    expect(readyA?.type === 'ready' && readyB?.type === 'ready').toBe(true);
    if (readyA?.type !== 'ready' || readyB?.type !== 'ready') return;
    expect(Buffer.from(readyA.info.key).equals(Buffer.from(readyB.info.key))).toBe(true);
    expect(readyA.info.emojiIndices).toEqual(readyB.info.emojiIndices);
    expect(readyA.info.keyFingerprint).toBe(confirm.request.keyFingerprint);
    expect([caller.state, callee.state]).toEqual(['ready', 'ready']);
    // connect deadline armed from "ready"
    expect(caller.nextDeadline()).toBe(60 + DEFAULT_CALL_TIMEOUTS.connectMs);
  });

  it('deadlines fire exactly at their time and not before', () => {
    const m = machine('outgoing', 9);
    m.startOutgoing(0);
    m.handleResult(only(m.takeOutputs(), 'getDhConfig').id, dhConfig(3), 1_000);
    const req = only(m.takeOutputs(), 'requestCall');
    m.handleResult(req.id, result(waiting(1_700_000_001)), 1_500);
    expect(m.state).toBe('ringing');
    expect(m.nextDeadline()).toBe(1_500 + DEFAULT_CALL_TIMEOUTS.ringMs);
    m.takeOutputs();
    m.handleTimeout(1_500 + DEFAULT_CALL_TIMEOUTS.ringMs - 1);
    expect(m.takeOutputs()).toEqual([]);
    m.handleTimeout(1_500 + DEFAULT_CALL_TIMEOUTS.ringMs);
    const discard = only(m.takeOutputs(), 'discardCall');
    expect(discard.request).toMatchObject({ reason: 'missed', duration: 0, peer: { id: CALL_ID, accessHash: ACCESS_HASH } });
    expect(m.state).toBe('ending');
    // No answer to discardCall: reported as ended after the hang-up timeout.
    const at = m.nextDeadline()!;
    m.handleTimeout(at);
    const ended = m.takeOutputs().find((o) => o.type === 'ended');
    expect(ended).toMatchObject({ type: 'ended', info: { reason: 'missed', by: 'local', error: { code: 'RING_TIMEOUT' } } });
    expect(m.nextDeadline()).toBeUndefined();
  });

  it('property: any order and any duplication of the caller’s updates yields one confirmCall', () => {
    const rng = new SeededRandom(42);
    for (let round = 0; round < 40; round++) {
      const { caller, confirm, gB } = exchange();
      const updates: PhoneCallRecord[] = [
        record(waiting()),
        record(waiting(1_700_000_001)),
        record(new Api.PhoneCallAccepted({ ...header, gB: Buffer.from(gB) })),
      ];
      const stream = Array.from({ length: 6 }, () => updates[Math.floor(rng.next() * updates.length)]!);
      for (const u of stream) caller.handleCall(u, 70);
      expect(invokes(caller.takeOutputs())).toEqual([]);
      expect(caller.state).toBe('exchanging-keys');
      expect(caller.getStats().duplicates + caller.getStats().unexpected).toBe(stream.length);
      caller.handleResult(confirm.id, result(finalCall(new Uint8Array(0), confirm.request.keyFingerprint)), 80);
      expect(caller.state).toBe('ready');
      expect(caller.takeOutputs().filter((o) => o.type === 'ready')).toHaveLength(1);
      for (const u of stream) caller.handleCall(u, 90);
      expect(caller.takeOutputs().filter((o) => o.type !== 'state')).toEqual([]);
    }
  });

  it('caller: the receive deadline is armed before getDhConfig; a late DH config is ignored', () => {
    const m = machine('outgoing', 4);
    m.startOutgoing(1_000);
    const dh = only(m.takeOutputs(), 'getDhConfig');
    expect(m.nextDeadline()).toBe(1_000 + DEFAULT_CALL_TIMEOUTS.receiveMs);
    m.handleTimeout(1_000 + DEFAULT_CALL_TIMEOUTS.receiveMs);
    expect(m.state).toBe('ended');
    const outputs = m.takeOutputs();
    expect(invokes(outputs)).toEqual([]); // no call id yet: nothing to discard
    expect(outputs.find((o) => o.type === 'ended')).toMatchObject({ info: { by: 'local', error: { code: 'RECEIVE_TIMEOUT' } } });
    m.handleResult(dh.id, dhConfig(1), 30_000);
    expect(m.takeOutputs()).toEqual([]);
  });

  it('a result for an unknown request id is ignored; after the end everything is', () => {
    const m = machine('outgoing', 3);
    m.startOutgoing(0);
    m.takeOutputs();
    m.handleResult(999, dhConfig(1), 0);
    expect(m.takeOutputs()).toEqual([]);
    m.hangup(0);
    expect(m.state).toBe('ended');
    m.handleCall(record(waiting()), 1);
    expect(m.getStats().afterEnd).toBe(1);
    expect(m.takeOutputs().filter((o) => o.type !== 'state' && o.type !== 'ended')).toEqual([]);
  });

  it('incoming: accept() and decline() are only valid while ringing', () => {
    const m = machine('incoming', 4);
    m.startIncoming(record(new Api.PhoneCallRequested({ ...header, gAHash: Buffer.alloc(32, 1) })), 0);
    const out = m.takeOutputs();
    expect(out.map((o) => o.type)).toEqual(['bound', 'invoke', 'state', 'ringing']);
    expect(only(out, 'receivedCall').request.peer).toEqual({ id: CALL_ID, accessHash: ACCESS_HASH });
    m.decline(5, 'busy');
    expect(only(m.takeOutputs(), 'discardCall').request).toMatchObject({ reason: 'busy' });
    expect(() => m.accept(6)).toThrow(expect.objectContaining({ code: 'BAD_STATE' }));
  });
});
