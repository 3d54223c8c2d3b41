/**
 * A hostile or broken server: the fake tampers with what it sends. Every case must end the call
 * (or ignore the update) with a typed reason, throw nothing into the host, and release every timer.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { bigIntToBytes, bytesToBigInt, fromHex } from '../../src/crypto/bytes.js';
import { TELEGRAM_DH_PRIME_HEX } from '../../src/crypto/dh-config.js';
import { readLong, toLong } from '../../src/signaling/index.js';
import { ALICE, BOB, CAROL, connect, endedWith, nextIncoming, useSignalingWorld, waitFor, type Setup } from './helpers.js';

// Every account stopped, the fake closed and no Timeout handle left after each test.
const setup = useSignalingWorld();
let s: Setup | undefined;

const P = bytesToBigInt(fromHex(TELEGRAM_DH_PRIME_HEX));

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Rewrites the phoneCall object of updates of `className` sent to `to`. */
function tamper(setupRef: Setup, to: bigint, className: string, mutate: (call: Mutable<Record<string, unknown>>) => void): void {
  setupRef.tg.hooks.update = ({ to: target, update }) => {
    if (target === to && update instanceof Api.UpdatePhoneCall && update.phoneCall.className === className) {
      mutate(update.phoneCall as unknown as Record<string, unknown>);
    }
    return update;
  };
}

/** alice calls bob, bob accepts as soon as the call rings. */
async function placeAndAccept(setupRef: Setup): Promise<{ out: Awaited<ReturnType<Setup['alice']['call']>> }> {
  setupRef.bob.once('incoming', (c) => c.accept());
  const out = await setupRef.alice.call(BOB);
  return { out };
}

async function bobsCall(setupRef: Setup): Promise<ReturnType<Setup['bob']['calls']['at']>> {
  await waitFor(() => setupRef.bob.calls.length > 0 || setupRef.tg.listCalls().some((c) => c.state === 'discarded'));
  return setupRef.bob.calls[0];
}

describe('key exchange tampering', () => {
  it('wrong g_a_hash: the callee rejects the revealed g_a (DH_HASH_MISMATCH)', async () => {
    s = await setup();
    tamper(s, BOB, 'PhoneCallRequested', (c) => {
      const h = Buffer.from(c.gAHash as Buffer);
      h[0]! ^= 1;
      c.gAHash = h;
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    const inc = await incoming;
    endedWith(await inc.whenEnded(), { reason: 'disconnect', by: 'local', code: 'DH_HASH_MISMATCH' });
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'remote' });
    expect(inc.readyInfo).toBeUndefined();
  });

  it('g_a_hash of the wrong length: the incoming call is refused before it rings', async () => {
    s = await setup();
    tamper(s, BOB, 'PhoneCallRequested', (c) => {
      c.gAHash = Buffer.alloc(16);
    });
    let rang = false;
    s.bob.on('incoming', () => (rang = true));
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'remote' });
    expect(rang).toBe(false);
    expect(s.bob.getStats().rejectedIncoming).toBe(1);
  });

  it('wrong key_fingerprint to the callee: KEY_FINGERPRINT_MISMATCH', async () => {
    s = await setup();
    tamper(s, BOB, 'PhoneCall', (c) => {
      c.keyFingerprint = toLong(readLong(c.keyFingerprint) ^ 1n);
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'local', code: 'KEY_FINGERPRINT_MISMATCH' });
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('a different fingerprint echoed to the caller: KEY_FINGERPRINT_MISMATCH', async () => {
    s = await setup();
    s.tg.hooks.result = ({ request, result }) => {
      if (request.className === 'phone.ConfirmCall') {
        const call = (result as Api.phone.PhoneCall).phoneCall as Api.PhoneCall;
        call.keyFingerprint = toLong(readLong(call.keyFingerprint) + 1n);
      }
      return result;
    };
    const { out } = await placeAndAccept(s);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'KEY_FINGERPRINT_MISMATCH' });
    const inc = await bobsCall(s);
    if (inc) endedWith(await inc.whenEnded(), { reason: 'disconnect' });
  });

  const outOfRange: [string, bigint][] = [
    ['1', 1n],
    ['2', 2n],
    ['2^1984 - 1', (1n << 1984n) - 1n],
    ['p - 1', P - 1n],
    ['p - 2^1984 + 1', P - (1n << 1984n) + 1n],
    ['p + 5', P + 5n],
  ];

  it.each(outOfRange)('out-of-range g_b (%s): the caller refuses it (DH_BAD_VALUE)', async (_name, value) => {
    s = await setup();
    tamper(s, ALICE, 'PhoneCallAccepted', (c) => {
      c.gB = Buffer.from(bigIntToBytes(value));
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'DH_BAD_VALUE' });
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'remote' });
    expect(s.tg.requestLog.some((r) => r.method === 'phone.ConfirmCall')).toBe(false);
  });

  it.each(outOfRange)('out-of-range g_a (%s) with a matching hash: the callee refuses it (DH_BAD_VALUE)', async (_name, value) => {
    s = await setup();
    const badGA = Buffer.from(bigIntToBytes(value));
    s.tg.hooks.update = ({ to, update }) => {
      if (to === BOB && update instanceof Api.UpdatePhoneCall) {
        const call = update.phoneCall as unknown as Record<string, unknown>;
        if (call.className === 'PhoneCallRequested') call.gAHash = createHash('sha256').update(badGA).digest();
        if (call.className === 'PhoneCall') call.gAOrB = badGA;
      }
      return update;
    };
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'local', code: 'DH_BAD_VALUE' });
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });
});

describe('bad DH configuration', () => {
  it('a prime that is not a safe prime: DH_BAD_PRIME before any call exists', async () => {
    const notSafe = bigIntToBytes(P + 6n, 256); // still 2048 bits, odd, p mod 3 = 2: only the safe-prime test can catch it
    s = await setup({ dh: { p: notSafe } });
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'DH_BAD_PRIME' });
    expect(s.tg.listCalls()).toHaveLength(0);
  });

  it('a prime of the wrong size: DH_BAD_PRIME', async () => {
    s = await setup({ dh: { p: fromHex(TELEGRAM_DH_PRIME_HEX).subarray(1) } });
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'DH_BAD_PRIME' });
  });

  it.each([2, 5, 6, 9, 0])('g = %i is refused for Telegram’s prime (DH_BAD_GENERATOR)', async (g) => {
    s = await setup({ dh: { g } });
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'DH_BAD_GENERATOR' });
  });

  it('a bad group also stops the callee from answering', async () => {
    s = await setup();
    let first = true;
    s.tg.hooks.result = ({ from, request, result }) => {
      if (from === BOB && request.className === 'messages.GetDhConfig' && first) {
        first = false;
        return new Api.messages.DhConfig({ g: 9, p: Buffer.from(fromHex(TELEGRAM_DH_PRIME_HEX)), version: 77, random: Buffer.alloc(256, 1) });
      }
      return result;
    };
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'local', code: 'DH_BAD_GENERATOR' });
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('a server random that is not 256 bytes is refused (DH_BAD_RANDOM)', async () => {
    s = await setup();
    s.tg.hooks.result = ({ request, result }) => {
      if (request.className === 'messages.GetDhConfig') (result as Api.messages.DhConfig).random = Buffer.alloc(255, 9);
      return result;
    };
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'DH_BAD_RANDOM' });
  });
});

describe('call fields and update hygiene', () => {
  it('access_hash mismatch on phoneCallAccepted: CALL_FIELDS_MISMATCH', async () => {
    s = await setup();
    tamper(s, ALICE, 'PhoneCallAccepted', (c) => {
      c.accessHash = toLong(readLong(c.accessHash) + 1n);
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'CALL_FIELDS_MISMATCH' });
    await (await incoming).whenEnded();
  });

  it('access_hash mismatch on the callee’s phoneCall: CALL_FIELDS_MISMATCH', async () => {
    s = await setup();
    tamper(s, BOB, 'PhoneCall', (c) => {
      c.accessHash = toLong(readLong(c.accessHash) ^ 0xffn);
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'local', code: 'CALL_FIELDS_MISMATCH' });
    await out.whenEnded();
  });

  it('wrong admin_id on phoneCallAccepted: CALL_FIELDS_MISMATCH', async () => {
    s = await setup();
    tamper(s, ALICE, 'PhoneCallAccepted', (c) => {
      c.adminId = toLong(CAROL);
    });
    const incoming = nextIncoming(s.bob);
    const { out } = await placeAndAccept(s);
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'CALL_FIELDS_MISMATCH' });
    await (await incoming).whenEnded();
  });

  it('wrong participant_id on the requestCall result: CALL_FIELDS_MISMATCH', async () => {
    s = await setup();
    s.tg.hooks.result = ({ request, result }) => {
      if (request.className === 'phone.RequestCall') ((result as Api.phone.PhoneCall).phoneCall as Api.PhoneCallWaiting).participantId = toLong(CAROL);
      return result;
    };
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'disconnect', by: 'local', code: 'CALL_FIELDS_MISMATCH' });
    // The call is discarded on the server all the same, so the callee stops ringing.
    endedWith(await (await incoming).whenEnded(), { reason: 'disconnect', by: 'remote' });
  });

  it('phoneCallRequested addressed to someone else is ignored', async () => {
    s = await setup({}, { alice: { timeouts: { receiveMs: 150 } } });
    tamper(s, BOB, 'PhoneCallRequested', (c) => {
      c.participantId = toLong(CAROL);
    });
    const out = await s.alice.call(BOB);
    endedWith(await out.whenEnded(), { reason: 'missed', code: 'RECEIVE_TIMEOUT' });
    expect(s.bob.getStats().ignoredIncoming).toBe(1);
    expect(s.bob.calls).toHaveLength(0);
  });

  it('phoneCallEmpty for the call: CALL_EMPTY', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    s.tg.injectUpdate(ALICE, new Api.UpdatePhoneCall({ phoneCall: new Api.PhoneCallEmpty({ id: toLong(out.callId!) }) }));
    endedWith(await out.whenEnded(), { reason: 'disconnect', code: 'CALL_EMPTY' });
    await inc.whenEnded();
  });

  it('updates for an unknown call id are counted and ignored', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    for (const update of s.tg.deliveredUpdates(ALICE)) {
      const copy = update as unknown as { phoneCall?: { id: unknown } };
      if (copy.phoneCall) copy.phoneCall.id = toLong(777n);
      s.tg.injectUpdate(ALICE, update);
    }
    await waitFor(() => s!.alice.getStats().unknownCallUpdates >= 2);
    expect(out.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
  });

  it('every update duplicated: each state is processed once, the call still works', async () => {
    s = await setup();
    s.tg.hooks.update = ({ update }) => [update, update];
    const { out, inc, readyOut, readyIn } = await connect(s);
    expect(readyOut.keyFingerprint).toBe(readyIn.keyFingerprint);
    await waitFor(() => out.getStats().duplicates >= 2 && inc.getStats().duplicates >= 1);
    const methods = s.tg.requestLog.map((r) => r.method);
    expect(methods.filter((m) => m === 'phone.ConfirmCall')).toHaveLength(1);
    expect(methods.filter((m) => m === 'phone.AcceptCall')).toHaveLength(1);
    expect(methods.filter((m) => m === 'phone.ReceivedCall')).toHaveLength(1);
    out.hangup();
    await inc.whenEnded();
  });

  it('replayed updates after ready and after the end change nothing', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    const before = s.tg.requestLog.length;
    const aliceLog = s.tg.deliveredUpdates(ALICE);
    const bobLog = s.tg.deliveredUpdates(BOB);
    for (const u of aliceLog) s.tg.injectUpdate(ALICE, u);
    for (const u of bobLog) s.tg.injectUpdate(BOB, u);
    await waitFor(() => out.getStats().duplicates >= aliceLog.length && inc.getStats().duplicates >= bobLog.length);
    expect([out.state, inc.state]).toEqual(['ready', 'ready']);
    expect(s.tg.requestLog.length).toBe(before);

    out.hangup();
    await Promise.all([out.whenEnded(), inc.whenEnded()]);
    const afterEnd = s.tg.requestLog.length;
    for (const u of s.tg.deliveredUpdates(BOB)) s.tg.injectUpdate(BOB, u);
    await waitFor(() => inc.getStats().afterEnd > 0);
    expect(s.tg.requestLog.length).toBe(afterEnd);
    expect(s.bob.calls).toHaveLength(0);
  });

  it('phoneCallAccepted sent to the callee (wrong direction) is ignored and counted', async () => {
    s = await setup();
    const { out, inc } = await connect(s);
    const accepted = s.tg.deliveredUpdates(ALICE).find((u) => (u as Api.UpdatePhoneCall).phoneCall?.className === 'PhoneCallAccepted')!;
    s.tg.injectUpdate(BOB, accepted);
    await waitFor(() => inc.getStats().unexpected === 1);
    expect(inc.state).toBe('ready');
    out.hangup();
    await inc.whenEnded();
  });

  it('stale, self-addressed and malformed phoneCallRequested updates are dropped', async () => {
    s = await setup();
    const requested = (date: number, admin: bigint): Api.UpdatePhoneCall =>
      new Api.UpdatePhoneCall({
        phoneCall: new Api.PhoneCallRequested({
          id: toLong(55n),
          accessHash: toLong(66n),
          date,
          adminId: toLong(admin),
          participantId: toLong(BOB),
          gAHash: Buffer.alloc(32),
          protocol: new Api.PhoneCallProtocol({ udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: ['9.0.0'] }),
        }),
      });
    s.tg.injectUpdate(BOB, requested(Math.floor(Date.now() / 1000) - 3600, ALICE));
    s.tg.injectUpdate(BOB, requested(Math.floor(Date.now() / 1000), BOB));
    // Straight into the session, skipping the serializer: garbage the decoder must refuse.
    s.bobClient._deliver({ className: 'UpdatePhoneCall', phoneCall: { className: 'PhoneCallRequested', id: 'nope' } });
    s.bobClient._deliver({ className: 'UpdatePhoneCallSignalingData', phoneCallId: 1n, data: 'text' });
    s.bobClient._deliver({ className: 'Updates', updates: 'not a vector' });
    s.bobClient._deliver(null);
    await waitFor(() => s!.bob.getStats().ignoredIncoming === 2);
    expect(s.bob.getStats().malformedUpdates).toBe(2);
    expect(s.bob.calls).toHaveLength(0);
  });
});
