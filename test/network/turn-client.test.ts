/**
 * TurnClient on a virtual clock against a scripted server: the Allocate/authentication flow, typed
 * failures, integrity of responses, transaction matching, refreshes and close.
 */
import { describe, expect, it } from 'vitest';
import {
  StunAttr,
  StunMethod,
  attributeValue,
  decodeU32,
  encodeAddress,
  verifyIntegrity,
  type StunMessage,
} from '../../src/network/stun.js';
import { longTermKey } from '../../src/network/stun.js';
import type { TurnClient, TurnEvent } from '../../src/network/turn-client.js';
import { MAPPED, PASS, REALM, RELAYED, SERVER, ScriptedTurn, USER, newClient, onlyRequest, text } from './scripted-turn.js';

function failedEvent(events: TurnEvent[]): TurnEvent | undefined {
  return events.find((e) => e.type === 'failed');
}

/** Runs every deadline up to `until`; returns everything the client did. */
function runUntil(client: TurnClient, until: number): { at: number; data: Uint8Array }[] & { events: TurnEvent[] } {
  const sent = Object.assign([] as { at: number; data: Uint8Array }[], { events: [] as TurnEvent[] });
  for (let guard = 0; guard < 1000; guard += 1) {
    const at = client.nextDeadline();
    if (at === undefined || at > until) break;
    const step = client.tick(at);
    for (const d of step.send) sent.push({ at, data: d.data });
    sent.events.push(...step.events);
  }
  return sent;
}

describe('TurnClient allocation', () => {
  it('allocates: unauthenticated Allocate, 401 with REALM/NONCE, authenticated Allocate, success', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const first = onlyRequest(client.start(0));
    expect([first.method, first.cls]).toEqual([StunMethod.ALLOCATE, 'request']);
    expect(attributeValue(first, StunAttr.REQUESTED_TRANSPORT)).toEqual(Uint8Array.of(17, 0, 0, 0));
    expect([first.integrityOffset, attributeValue(first, StunAttr.USERNAME)]).toEqual([-1, undefined]);
    expect(attributeValue(first, StunAttr.REQUESTED_ADDRESS_FAMILY)).toBeUndefined();

    const second = onlyRequest(client.receive(server.challenge(first), SERVER, 30));
    expect([text(second, StunAttr.USERNAME), text(second, StunAttr.REALM), text(second, StunAttr.NONCE)]).toEqual([USER, REALM, 'nonce-1']);
    expect(verifyIntegrity(second, longTermKey(USER, REALM, PASS))).toBe(true);
    expect(second.fingerprintOffset).toBeGreaterThan(0);

    const done = client.receive(server.allocated(second, 600), SERVER, 60);
    expect(done.events).toEqual([{ type: 'allocated', relayed: RELAYED, mapped: MAPPED, lifetimeSec: 600 }]);
    expect([client.state, client.relayed, client.mapped]).toEqual(['allocated', RELAYED, MAPPED]);
    expect(client.nextDeadline()).toBe(60 + 540_000);
  });

  it('asks for LIFETIME and an IPv6 relay when configured / when the server is IPv6', () => {
    const v6server = { address: '2001:db8::3478', port: 3478 };
    const client = newClient({ server: v6server, lifetimeSec: 300 });
    const first = onlyRequest(client.start(0));
    expect(attributeValue(first, StunAttr.REQUESTED_ADDRESS_FAMILY)).toEqual(Uint8Array.of(2, 0, 0, 0));
    expect(decodeU32(attributeValue(first, StunAttr.LIFETIME)!)).toBe(300);
    const server = new ScriptedTurn();
    const second = onlyRequest(client.receive(server.challenge(first), v6server, 1));
    const relayed = { address: '2001:db8::5', port: 50001 };
    const step = client.receive(server.allocated(second, 300, relayed, { address: '2001:db8:9::1', port: 7 }), v6server, 2);
    expect(step.events[0]).toEqual({ type: 'allocated', relayed, mapped: { address: '2001:db8:9::1', port: 7 }, lifetimeSec: 300 });
  });

  it('fails with TURN_UNAUTHORIZED on a second 401 (wrong credentials)', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const first = onlyRequest(client.start(0));
    const second = onlyRequest(client.receive(server.challenge(first), SERVER, 1));
    const step = client.receive(server.challenge(second), SERVER, 2);
    expect(step.events).toEqual([{ type: 'failed', code: 'TURN_UNAUTHORIZED', status: 401, reason: 'allocate: 401 Unauthorized' }]);
    expect(step.send).toHaveLength(0);
    expect([client.state, client.nextDeadline()]).toEqual(['failed', undefined]);
  });

  it('fails with TURN_UNAUTHORIZED on a 401 without REALM or NONCE', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const first = onlyRequest(client.start(0));
    expect(failedEvent(client.receive(server.error(first, 401, 'Unauthorized', false), SERVER, 1).events)).toMatchObject({ code: 'TURN_UNAUTHORIZED' });
  });

  it('retries on 438 Stale Nonce with the new nonce, at most 3 times', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const first = onlyRequest(client.start(0));
    let req = onlyRequest(client.receive(server.challenge(first), SERVER, 1));
    for (let i = 2; i <= 4; i += 1) {
      req = onlyRequest(client.receive(server.stale(req, `nonce-${i}`), SERVER, i));
      expect(text(req, StunAttr.NONCE)).toBe(`nonce-${i}`);
      expect(verifyIntegrity(req, server.key)).toBe(true);
    }
    expect(failedEvent(client.receive(server.stale(req, 'nonce-5'), SERVER, 5).events)).toMatchObject({ code: 'TURN_STALE_NONCE', status: 438 });
  });

  const errors: [number, string, string][] = [
    [403, 'Forbidden', 'TURN_FORBIDDEN'],
    [437, 'Allocation Mismatch', 'TURN_ALLOCATION_MISMATCH'],
    [440, 'Address Family not Supported', 'TURN_UNSUPPORTED_FAMILY'],
    [441, 'Wrong Credentials', 'TURN_WRONG_CREDENTIALS'],
    [442, 'Unsupported Transport Protocol', 'TURN_UNSUPPORTED_TRANSPORT'],
    [486, 'Allocation Quota Reached', 'TURN_QUOTA_REACHED'],
    [508, 'Insufficient Capacity', 'TURN_INSUFFICIENT_CAPACITY'],
    [500, 'Server Error', 'TURN_ERROR_RESPONSE'],
  ];
  for (const [status, reason, code] of errors) {
    it(`maps a signed ${status} to ${code}`, () => {
      const server = new ScriptedTurn();
      const client = newClient();
      const second = onlyRequest(client.receive(server.challenge(onlyRequest(client.start(0))), SERVER, 1));
      expect(client.receive(server.error(second, status, reason), SERVER, 2).events).toEqual([
        { type: 'failed', code, status, reason: `allocate: ${status} ${reason}` },
      ]);
    });
  }

  it('drops responses to authenticated requests that are unsigned or signed with another key (except 401/438, and 437 as coturn sends it)', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const second = onlyRequest(client.receive(server.challenge(onlyRequest(client.start(0))), SERVER, 1));
    expect(client.receive(server.error(second, 403, 'Forbidden', false), SERVER, 2).events).toEqual([]);
    expect(client.receive(server.reply(second, 'success', [], false), SERVER, 2).events).toEqual([]);
    const forged = server.reply(second, 'success', [{ type: StunAttr.XOR_RELAYED_ADDRESS, value: encodeAddress(RELAYED, second.transactionId) }], longTermKey(USER, REALM, 'guess'));
    expect(client.receive(forged, SERVER, 2).events).toEqual([]);
    expect(client.stats.dropped.badIntegrity).toBe(3);
    expect(client.state).toBe('allocating');
    expect(failedEvent(client.receive(server.error(second, 437, 'Allocation Mismatch', false), SERVER, 3).events)).toMatchObject({ code: 'TURN_ALLOCATION_MISMATCH' });
  });

  it('matches responses by transaction id and method', () => {
    const server = new ScriptedTurn();
    const client = newClient();
    const first = onlyRequest(client.start(0));
    const other = { ...first, transactionId: new Uint8Array(12).fill(1) } as StunMessage;
    expect(client.receive(server.challenge(other), SERVER, 1).send).toHaveLength(0);
    const wrongMethod = { ...first, method: StunMethod.REFRESH } as StunMessage;
    expect(client.receive(server.challenge(wrongMethod), SERVER, 1).send).toHaveLength(0);
    expect(client.receive(server.challenge(first), { address: '198.51.100.21', port: 3478 }, 1).send).toHaveLength(0);
    expect(client.stats.dropped).toMatchObject({ unknownTransaction: 2, unknownSource: 1 });
    expect(client.receive(server.challenge(first), SERVER, 1).send).toHaveLength(1);
    // the duplicate answer to a finished transaction
    expect(client.receive(server.challenge(first), SERVER, 2).send).toHaveLength(0);
    expect(client.stats.dropped.unknownTransaction).toBe(3);
  });

  it('fails with TURN_BAD_RESPONSE without a relayed address of the asked family', () => {
    const server = new ScriptedTurn();
    for (const relayed of [undefined, { address: '2001:db8::1', port: 5 }]) {
      const client = newClient();
      const second = onlyRequest(client.receive(server.challenge(onlyRequest(client.start(0))), SERVER, 1));
      const response = relayed ? server.allocated(second, 600, relayed) : server.ok(second);
      expect(failedEvent(client.receive(response, SERVER, 2).events)).toMatchObject({ code: 'TURN_BAD_RESPONSE' });
    }
  });

  it('retransmits the same bytes and times out with TURN_TIMEOUT after 6.3 s', () => {
    const client = newClient();
    const first = client.start(0).send[0]!.data;
    const sent = runUntil(client, 100_000);
    expect(sent.map((s) => s.at)).toEqual([100, 300, 700, 1500, 3100, 4700]);
    expect(sent.every((s) => s.data === first)).toBe(true);
    expect(sent.events).toEqual([{ type: 'failed', code: 'TURN_TIMEOUT', reason: expect.stringContaining('7 transmissions') }]);
    expect(client.nextDeadline()).toBeUndefined();
  });
});

describe('TurnClient refresh and close', () => {
  it('refreshes a minute before expiry and follows the granted lifetime', () => {
    const server = new ScriptedTurn();
    const client = server.allocate(newClient());
    expect(runUntil(client, 539_999)).toHaveLength(0);
    const sent = runUntil(client, 540_002);
    expect(sent).toHaveLength(1);
    const refresh = onlyRequest({ send: [{ to: SERVER, data: sent[0]!.data }], events: [] });
    expect([refresh.method, verifyIntegrity(refresh, server.key)]).toEqual([StunMethod.REFRESH, true]);
    expect(attributeValue(refresh, StunAttr.LIFETIME)).toBeUndefined();
    client.receive(server.ok(refresh, [{ type: StunAttr.LIFETIME, value: Uint8Array.of(0, 0, 0, 100) }]), SERVER, 540_010);
    // 100 s granted: refresh halfway
    expect(client.nextDeadline()).toBe(540_010 + 50_000);
  });

  it('short lifetimes refresh halfway; 438 on Refresh is retried with the new nonce', () => {
    const server = new ScriptedTurn();
    const client = server.allocate(newClient({ lifetimeSec: 10 }), 0, 10);
    expect(client.nextDeadline()).toBe(2 + 5_000);
    const refresh = onlyRequest({ send: runUntil(client, 5_002).map((s) => ({ to: SERVER, data: s.data })), events: [] });
    expect(decodeU32(attributeValue(refresh, StunAttr.LIFETIME)!)).toBe(10);
    const again = onlyRequest(client.receive(server.stale(refresh, 'nonce-2'), SERVER, 5_010));
    expect([again.method, text(again, StunAttr.NONCE)]).toEqual([StunMethod.REFRESH, 'nonce-2']);
    client.receive(server.ok(again, [{ type: StunAttr.LIFETIME, value: Uint8Array.of(0, 0, 0, 10) }]), SERVER, 5_020);
    expect(client.nextDeadline()).toBe(10_020);
    expect(client.state).toBe('allocated');
  });

  it('fails with TURN_ALLOCATION_MISMATCH when a Refresh finds no allocation', () => {
    const server = new ScriptedTurn();
    const client = server.allocate(newClient());
    const refresh = onlyRequest(client.refresh(1000));
    expect(client.refresh(1001).send).toHaveLength(0); // one at a time
    expect(failedEvent(client.receive(server.error(refresh, 437, 'Allocation Mismatch'), SERVER, 1002).events)).toMatchObject({
      code: 'TURN_ALLOCATION_MISMATCH',
      status: 437,
    });
    expect(client.close(1003).send).toHaveLength(0); // nothing left to release
  });

  it('retries an unanswered Refresh while the allocation lives, then fails with TURN_TIMEOUT', () => {
    const server = new ScriptedTurn();
    const client = server.allocate(newClient({ lifetimeSec: 20 }), 0, 20);
    const sent = runUntil(client, 60_000);
    const refreshes = new Set(sent.map((s) => Buffer.from(s.data.subarray(8, 20)).toString('hex')));
    expect(refreshes.size).toBe(2); // at 10 s, and once more at 16.3 s (3.7 s left > 2 s)
    expect(sent.events).toEqual([{ type: 'failed', code: 'TURN_TIMEOUT', reason: expect.stringContaining('expires') }]);
    expect(client.nextDeadline()).toBeUndefined();
  });

  it('close() sends one authenticated Refresh LIFETIME=0 and leaves no deadline', () => {
    const server = new ScriptedTurn();
    const client = server.allocate(newClient());
    const step = client.close(5000);
    const release = onlyRequest(step);
    expect([release.method, decodeU32(attributeValue(release, StunAttr.LIFETIME)!), verifyIntegrity(release, server.key)]).toEqual([
      StunMethod.REFRESH,
      0,
      true,
    ]);
    expect([client.state, client.nextDeadline()]).toEqual(['closed', undefined]);
    expect(client.receive(server.ok(release), SERVER, 5001).events).toEqual([]);
    expect(client.close(5002).send).toHaveLength(0);
    expect(client.tick(1e9)).toEqual({ send: [], events: [] });
  });

  it('close() before credentials sends nothing; after a sent authenticated Allocate it releases', () => {
    expect(newClient().close(0).send).toHaveLength(0);
    const idle = newClient();
    idle.start(0);
    expect(idle.close(1).send).toHaveLength(0);
    const server = new ScriptedTurn();
    const pending = newClient();
    pending.receive(server.challenge(onlyRequest(pending.start(0))), SERVER, 1);
    expect(onlyRequest(pending.close(2)).method).toBe(StunMethod.REFRESH);
  });

  it('refuses a nonsensical lifetime (API misuse)', () => {
    expect(() => newClient({ lifetimeSec: 0 })).toThrow(RangeError);
    expect(() => newClient({ lifetimeSec: 1.5 })).toThrow(RangeError);
  });
});
