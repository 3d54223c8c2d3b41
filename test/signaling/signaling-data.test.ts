/**
 * phone.sendSignalingData / updatePhoneCallSignalingData through the fake: ordering, buffering
 * before the consumer attaches, seeded loss / duplication / reordering, FLOOD_WAIT and network
 * retries, bounded failure.
 */
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { fakeFloodWait, fakeRpcError } from '../../src/fake/index.js';
import { toLong, type CallSignaling } from '../../src/signaling/index.js';
import { ALICE, BOB, connect, endedWith, nextIncoming, useSignalingWorld, waitFor, type Setup } from './helpers.js';

// Every account stopped, the fake closed and no Timeout handle left after each test.
const setup = useSignalingWorld();
let s: Setup | undefined;

function packet(index: number, size = 24): Uint8Array {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setUint32(0, index);
  p.fill(index & 0xff, 4);
  return p;
}

function indexOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
}

function collect(call: CallSignaling): number[] {
  const got: number[] = [];
  call.on('signalingData', (d) => got.push(indexOf(d)));
  return got;
}

describe('relay', () => {
  it('carries data both ways in order, buffering it until the consumer attaches', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    for (let i = 0; i < 5; i++) out.sendSignalingData(packet(i));
    await waitFor(() => inc.getStats().signalingReceived === 5);
    const atBob = collect(inc); // attaches late: the buffered packets follow
    await waitFor(() => atBob.length === 5);
    expect(atBob).toEqual([0, 1, 2, 3, 4]);

    const atAlice = collect(out);
    for (let i = 10; i < 13; i++) inc.sendSignalingData(packet(i));
    await waitFor(() => atAlice.length === 3);
    expect(atAlice).toEqual([10, 11, 12]);
    expect(s.tg.getCall(out.callId!)!.signalingPackets).toEqual({ fromAdmin: 5, fromParticipant: 3 });
    out.hangup();
    await inc.whenEnded();
  });

  it('holds data that arrives before the callee is ready and delivers it after ready', async () => {
    s = await setup();
    let held: Api.TypeUpdate | undefined;
    s.tg.hooks.update = ({ to, update }) => {
      const call = update instanceof Api.UpdatePhoneCall ? update.phoneCall : undefined;
      if (to === BOB && call?.className === 'PhoneCall' && !held) {
        held = update; // the callee's phoneCall is late
        return null;
      }
      return update;
    };
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    const atBob = collect(inc);
    inc.accept();
    await out.whenReady();
    out.sendSignalingData(packet(1));
    out.sendSignalingData(packet(2));
    await waitFor(() => inc.getStats().signalingReceived === 2);
    expect(inc.state).toBe('exchanging-keys');
    expect(atBob).toEqual([]);
    s.tg.injectUpdate(BOB, held!);
    await inc.whenReady();
    await waitFor(() => atBob.length === 2);
    expect(atBob).toEqual([1, 2]);
    out.hangup();
    await inc.whenEnded();
  });

  it('bounds the inbox: the oldest packets are dropped and counted', async () => {
    s = await setup({}, { bob: { inboxLimits: { maxPackets: 4, maxBytes: 1 << 20 } } });
    const { out, inc } = await connect(s);
    for (let i = 0; i < 10; i++) out.sendSignalingData(packet(i));
    await waitFor(() => inc.getStats().signalingReceived === 10);
    const atBob = collect(inc);
    await waitFor(() => atBob.length === 4);
    expect(atBob).toEqual([6, 7, 8, 9]);
    expect(inc.getStats().signalingDropped).toBe(6);
    out.hangup();
    await inc.whenEnded();
  });

  it('seeded loss and duplication: only sent packets arrive, each at most twice, in order', async () => {
    s = await setup({ seed: 11, signaling: { loss: 0.2, duplicate: 0.2 } });
    const { out, inc } = await connect(s);
    const atBob = collect(inc);
    const n = 200;
    for (let i = 0; i < n; i++) out.sendSignalingData(packet(i));
    await out.flushSignaling();
    const stats = s.tg.getSignalingStats();
    await waitFor(() => atBob.length === stats.relayed);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.duplicated).toBeGreaterThan(0);
    expect(stats.relayed).toBe(n - stats.dropped + stats.duplicated);
    const counts = new Map<number, number>();
    for (const i of atBob) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.keys()].every((i) => i >= 0 && i < n)).toBe(true);
    expect([...counts.values()].every((c) => c <= 2)).toBe(true);
    expect(counts.size).toBe(n - stats.dropped);
    // No reordering configured: arrival order never goes backwards.
    expect(atBob.every((v, i) => i === 0 || v >= atBob[i - 1]!)).toBe(true);
    out.hangup();
    await inc.whenEnded();
  });

  it('seeded reordering and delay still deliver every packet exactly once', async () => {
    s = await setup({ seed: 5, signaling: { reorder: 0.3, reorderDelayMs: 15, delayMs: { min: 0, max: 5 } } });
    const { out, inc } = await connect(s);
    const atBob = collect(inc);
    for (let i = 0; i < 60; i++) out.sendSignalingData(packet(i));
    await out.flushSignaling();
    await waitFor(() => atBob.length === 60);
    expect([...atBob].sort((a, b) => a - b)).toEqual([...Array(60).keys()]);
    expect(s.tg.getSignalingStats().reordered).toBeGreaterThan(0);
    out.hangup();
    await inc.whenEnded();
  });

  it('passes tampered and replayed packets through verbatim (the encrypted channel judges them)', async () => {
    s = await setup();
    s.tg.hooks.signaling = ({ index, data }) => {
      if (index === 0) return [data, data];
      if (index === 1) return Uint8Array.from(data, (b) => b ^ 0xff);
      return undefined;
    };
    const { out, inc } = await connect(s);
    const got: Uint8Array[] = [];
    inc.on('signalingData', (d) => got.push(d));
    for (let i = 0; i < 3; i++) out.sendSignalingData(packet(i));
    await waitFor(() => got.length === 4);
    expect(got.map(indexOf)).toEqual([0, 0, indexOf(Uint8Array.from(packet(1), (b) => b ^ 0xff)), 2]);
    out.hangup();
    await inc.whenEnded();
  });
});

describe('sending failures', () => {
  function failSendsAt(setupRef: Setup, plan: Map<number, () => Error>): void {
    let n = 0;
    setupRef.tg.hooks.request = ({ from, request }) => {
      if (from !== ALICE || request.className !== 'phone.SendSignalingData') return;
      const make = plan.get(n++);
      if (make) throw make();
    };
  }

  it('FLOOD_WAIT (FloodWaitError and FLOOD_WAIT_X): waits, retries, delivers in order with maxInFlight 1', async () => {
    s = await setup({}, { alice: { signalingRetry: { maxInFlight: 1 } } });
    const { out, inc } = await connect(s);
    const atBob = collect(inc);
    failSendsAt(s, new Map([[2, () => fakeFloodWait(1)], [5, () => fakeRpcError('FLOOD_WAIT_1', 420)]]));
    for (let i = 0; i < 6; i++) out.sendSignalingData(packet(i));
    await waitFor(() => atBob.length === 6, 10_000);
    expect(atBob).toEqual([0, 1, 2, 3, 4, 5]);
    expect(out.getStats().send).toMatchObject({ sent: 6, floodWaits: 2, retries: 2, dropped: 0 });
    out.hangup();
    await inc.whenEnded();
  });

  it('network errors and `false` results are retried with back-off, order kept with maxInFlight 1', async () => {
    s = await setup({}, { alice: { signalingRetry: { baseDelayMs: 5, maxInFlight: 1 } } });
    const { out, inc } = await connect(s);
    const atBob = collect(inc);
    failSendsAt(s, new Map([[1, () => new Error('connection reset')], [2, () => new Error('connection reset')]]));
    let results = 0;
    s.tg.hooks.result = ({ from, request, result }) =>
      from === ALICE && request.className === 'phone.SendSignalingData' && results++ === 4 ? false : result;
    for (let i = 0; i < 5; i++) out.sendSignalingData(packet(i));
    await out.flushSignaling();
    await waitFor(() => atBob.length === 6);
    // The `false` answer came after the server had relayed the packet: the retry duplicates it.
    expect(atBob.filter((v, i) => i === 0 || v !== atBob[i - 1])).toEqual([0, 1, 2, 3, 4]);
    expect(out.getStats().send).toMatchObject({ sent: 5, retries: 3 });
    out.hangup();
    await inc.whenEnded();
  });

  it('pipelines sends (default): a flood-waited packet does not hold back the others, all arrive', async () => {
    s = await setup({ resultDelayMs: 40 });
    const { out, inc } = await connect(s);
    const atBob = collect(inc);
    failSendsAt(s, new Map([[1, () => fakeFloodWait(1)]]));
    const started = Date.now();
    for (let i = 0; i < 8; i++) out.sendSignalingData(packet(i));
    await waitFor(() => atBob.length === 7, 5_000);
    // seven round trips of 40 ms would take 280 ms one at a time; pipelined they overlap
    expect(Date.now() - started).toBeLessThan(1000);
    expect(atBob).not.toContain(1);
    await waitFor(() => atBob.length === 8, 5_000);
    expect([...atBob].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(atBob.at(-1)).toBe(1); // the flood-waited packet came last
    await out.flushSignaling();
    expect(out.getStats().send).toMatchObject({ sent: 8, floodWaits: 1, dropped: 0 });
    out.hangup();
    await inc.whenEnded();
  });

  it('a permanent RPC error ends the call with its code', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    failSendsAt(s, new Map([[0, () => fakeRpcError('DATA_INVALID', 400)]]));
    out.sendSignalingData(packet(0));
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'DATA_INVALID' });
    endedWith(await inc.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('CALL_PEER_INVALID (the call is over on the server) waits for the discard, then ends the call itself', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    // the server still has the call here, so no discard comes: after the wait, ours goes out
    failSendsAt(s, new Map([[0, () => fakeRpcError('CALL_PEER_INVALID', 400)]]));
    const started = Date.now();
    out.sendSignalingData(packet(0));
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'CALL_PEER_INVALID' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    endedWith(await inc.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('retries are bounded: persistent network errors end the call', async () => {
    s = await setup({}, { alice: { signalingRetry: { baseDelayMs: 2, maxAttempts: 3 } } });
    const { out, inc } = await connect(s);
    failSendsAt(s, new Map([0, 1, 2, 3, 4].map((i) => [i, () => new Error('socket closed')])));
    out.sendSignalingData(packet(0));
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'NETWORK_ERROR' });
    expect(out.getStats().send.retries).toBe(2);
    await inc.whenEnded();
  });

  it('too long a FLOOD_WAIT ends the call instead of stalling it', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    failSendsAt(s, new Map([[0, () => fakeFloodWait(3600)]]));
    out.sendSignalingData(packet(0));
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'FLOOD_WAIT' });
    await inc.whenEnded();
  });

  it('stops retrying when the call ends; later sends are dropped', async () => {
    s = await setup({}, { alice: { signalingRetry: { baseDelayMs: 50, maxAttempts: 100 } } });
    const { out, inc } = await connect(s);
    failSendsAt(s, new Map([...Array(100).keys()].map((i) => [i, () => new Error('offline')])));
    out.sendSignalingData(packet(0));
    await waitFor(() => out.getStats().send.retries >= 1);
    out.hangup();
    await out.whenEnded();
    const attempts = s.tg.requestLog.filter((r) => r.method === 'phone.SendSignalingData').length;
    await new Promise((r) => setTimeout(r, 150));
    expect(s.tg.requestLog.filter((r) => r.method === 'phone.SendSignalingData')).toHaveLength(attempts);
    expect(out.sendSignalingData(packet(1))).toBe(false); // dropped after the end
    expect(out.getStats().send.sent).toBe(0);
    await inc.whenEnded();
  });

  it('sending before ready is API misuse (NOT_READY)', async () => {
    s = await setup();
    const out = await s.alice.call(BOB);
    expect(() => out.sendSignalingData(packet(0))).toThrow(expect.objectContaining({ code: 'NOT_READY' }));
    expect(() => out.sendSignalingData('x' as unknown as Uint8Array)).toThrow(TypeError);
    out.hangup();
    await out.whenEnded();
  });

  it('signaling data for an unknown call id is counted and ignored', async () => {
    s = await setup();
    s.tg.injectUpdate(BOB, new Api.UpdatePhoneCallSignalingData({ phoneCallId: toLong(424242n), data: Buffer.from([1, 2, 3]) }));
    await waitFor(() => s!.bob.getStats().unknownCallUpdates === 1);
    expect(s.bob.calls).toHaveLength(0);
  });
});
