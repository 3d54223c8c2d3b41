/**
 * Many calls in one process: 20 one after another, then 5 at once (five pairs of accounts, and one
 * account taking five calls with `maxConcurrentCalls: 5`). Every call connects, carries a little
 * audio and ends cleanly; afterwards no node-datachannel handle and no timer of ours is left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/index.js';
import { liveNativeHandlesByKind } from '../../src/transport/native-handles.js';
import {
  ALICE,
  BOB,
  audioPasses,
  connectCall,
  ended,
  network,
  nextIncoming,
  phones,
  resourceBaseline,
  settled,
  within,
  type Network,
  type Phones,
} from './helpers.js';

let p: Phones | undefined;
let n: Network | undefined;
afterEach(async () => {
  await p?.close();
  await n?.close();
  p = undefined;
  n = undefined;
});

async function hangUp(by: Call, other: Call): Promise<void> {
  const [mine, theirs] = await Promise.all([by.hangup(), ended(other)]);
  expect(mine).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
  expect(theirs).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
}

/** Our handles exactly back; timers at most the baseline (the runner's own come and go). */
function expectBackTo(after: { handles: number; timers: number }, baseline: { handles: number; timers: number }): void {
  expect(after.handles).toBe(baseline.handles);
  expect(after.timers).toBeLessThanOrEqual(baseline.timers);
}

describe('many calls in one process', () => {
  it('20 calls one after another, both directions, hang-up by either side; resources back to the start', async () => {
    const baseline = resourceBaseline();
    p = await phones();
    const shares: number[] = [];
    const connectMs: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const [caller, callee, calleeId] = i % 2 === 0 ? [p.alice, p.bob, BOB] : [p.bob, p.alice, ALICE];
      const { outgoing, incoming } = await connectCall(caller, callee, calleeId);
      connectMs.push(Math.round(outgoing.getStats().connectMs ?? -1));
      // A little audio, caller → callee.
      // 5 windows of 100 ms: one disturbed window (a scheduling hiccup) is tolerated.
      const share = await audioPasses(outgoing, incoming, 500);
      shares.push(share);
      expect(share, `call ${i}: tone at the callee`).toBeGreaterThanOrEqual(0.75);
      expect(incoming.getStats().media.received.packets).toBeGreaterThan(10);
      await (i % 4 < 2 ? hangUp(outgoing, incoming) : hangUp(incoming, outgoing));
      // whenEnded() resolves once the call released its resources: nothing native is left of it.
      expect(liveNativeHandlesByKind(), `native handles after call ${i}`).toEqual({ 'peer-connection': 0, track: 0, 'data-channel': 0 });
      expect(p.alice.calls).toEqual([]);
      expect(p.bob.calls).toEqual([]);
    }
    console.log(`20 sequential calls: ${Date.now() - started} ms, tone shares min ${Math.min(...shares).toFixed(2)}, transport connect ms ${connectMs.join(' ')}`);
    const calls = p.telegram.listCalls();
    expect(calls).toHaveLength(20);
    expect(calls.every((c) => c.state === 'discarded' && c.discardReason === 'hangup')).toBe(true);
    await p.close();
    p = undefined;
    const after = await settled(baseline);
    expect(liveNativeHandlesByKind()).toEqual({ 'peer-connection': 0, track: 0, 'data-channel': 0 });
    expectBackTo(after, baseline);
  }, 60_000);

  it('5 calls at once between five pairs of accounts; resources back to the start', async () => {
    const baseline = resourceBaseline();
    n = await network(10);
    const pairs = [0, 1, 2, 3, 4].map((i) => ({ caller: n!.accounts[i]!, callee: n!.accounts[i + 5]! }));
    const calls = await Promise.all(pairs.map(({ caller, callee }) => connectCall(caller.calls, callee.calls, callee.id, 15_000)));
    // Distinct calls, distinct keys.
    expect(new Set(calls.map((c) => c.outgoing.id)).size).toBe(5);
    expect(new Set(calls.map((c) => c.outgoing.emoji?.keyFingerprint)).size).toBe(5);
    // 10 codecs on two cores: ~19 windows of 100 ms each, so that one hiccup cannot fail the test.
    const shares = await Promise.all(calls.map(({ outgoing, incoming }) => audioPasses(outgoing, incoming, 2_000)));
    for (const [i, share] of shares.entries()) expect(share, `call ${i}`).toBeGreaterThanOrEqual(0.9);
    await Promise.all(calls.map(({ outgoing, incoming }, i) => (i % 2 === 0 ? hangUp(outgoing, incoming) : hangUp(incoming, outgoing))));
    await n.close();
    n = undefined;
    expectBackTo(await settled(baseline), baseline);
  }, 30_000);

  it('one account takes 5 calls at once (maxConcurrentCalls 5); a 6th caller is refused busy', async () => {
    const baseline = resourceBaseline();
    // The hub's client refuses the 6th call itself (as tdesktop does), not the server.
    n = await network(7, { busy: 'client' }, (i) => (i === 0 ? { maxConcurrentCalls: 5 } : {}));
    const hub = n.accounts[0]!;
    const answered: Call[] = [];
    const onIncoming = (call: Call): void => {
      answered.push(call);
      void call.accept().catch(() => undefined);
    };
    hub.calls.on('incoming', onIncoming);
    const callers = n.accounts.slice(1, 6);
    const outgoing = await Promise.all(callers.map((a) => a.calls.call(hub.id)));
    await within(Promise.all(outgoing.map((c) => c.whenConnected())), 15_000, '5 calls connected');
    expect(answered).toHaveLength(5);
    expect(hub.calls.calls).toHaveLength(5);
    await within(Promise.all(answered.map((c) => c.whenConnected())), 5_000, 'hub side connected');

    const sixth = await n.accounts[6]!.calls.call(hub.id);
    expect(await ended(sixth)).toMatchObject({ reason: 'busy', by: 'remote', error: undefined });
    expect(answered).toHaveLength(5);

    // Audio into the hub on every call at once.
    const byPeer = new Map<bigint, Call>(answered.map((c) => [c.peerUserId, c]));
    const shares = await Promise.all(outgoing.map((c, i) => audioPasses(c, byPeer.get(callers[i]!.id)!, 2_000)));
    for (const [i, share] of shares.entries()) expect(share, `call ${i}`).toBeGreaterThanOrEqual(0.9);

    // The hub hangs up everything at once.
    const ends = outgoing.map((c) => ended(c));
    await hub.calls.stop();
    for (const info of await Promise.all(ends)) expect(info).toMatchObject({ reason: 'hangup', by: 'remote' });
    hub.calls.off('incoming', onIncoming);
    await n.close();
    n = undefined;
    expectBackTo(await settled(baseline), baseline);
  }, 30_000);
});
