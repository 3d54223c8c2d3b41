/**
 * The mixed case of issue 12: each side's phoneCall carries its own connection list, so one side
 * may get only TURN and the other only a Telegram reflector, with p2p off. Official apps cannot
 * connect then (a reflector candidate needs the same reflector and the call's peer tag; a
 * reflector-only side has no socket that reaches a TURN relay; see src/network/peer-reach.ts) and
 * give up after 20 s. tgcall must do no worse: end at its connect timeout with NO_COMMON_RELAY and
 * a message that says why, on both phones, leaving nothing behind. With a relay in common the same
 * setup connects through it.
 *
 * Real parts: coturn on 127.0.0.2 (as relay-only.test.ts), the fake Telegram's own reflector on
 * 127.0.0.1, two tgcall phones. Without `turnserver` the suite is skipped loudly (fails with CI=true).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import type { FakeCallSettings, FakeConnection } from '../../src/fake/index.js';
import { startTurnServer, turnGate, type TurnServer } from '../helpers/turn-server.js';
import { ALICE, audioPasses, BOB, connectCall, ended, nextIncoming, phones, resourceBaseline, settled, type Phones } from './helpers.js';

const enabled = turnGate('e2e/mixed-relays.test.ts');

type Want = 'turn' | 'reflector' | 'both';

/** Keeps only the entries of the kind `want` names (the fake's defaults hold both). */
function only(defaults: FakeCallSettings, want: Want): readonly FakeConnection[] {
  return defaults.connections.filter((c) => want === 'both' || (want === 'turn' ? c.kind === 'webrtc' : c.kind === 'reflector'));
}

describe.skipIf(!enabled)('mixed relays: one side TURN, the other a reflector (p2p off)', () => {
  let turn: TurnServer | undefined;
  let p: Phones | undefined;

  beforeAll(async () => {
    turn = await startTurnServer({ listeningIp: '127.0.0.2', relayIp: '127.0.0.2', username: 'mix', password: 'mix-pass' });
  });

  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  afterAll(async () => {
    await turn?.stop();
  });

  /** Alice (the caller) sees `alice`, Bob `bob`; both entries exist, p2p is off for both. */
  async function scene(alice: Want, bob: Want, connectMs?: number): Promise<Phones> {
    p = await phones(
      {
        p2pAllowed: false,
        reflector: true,
        connections: [{ kind: 'webrtc', ip: turn!.ip, port: turn!.port, username: turn!.username, password: turn!.password, turn: true, stun: false }],
        callSettings: ({ viewer, defaults }) => ({ connections: only(defaults, viewer === ALICE ? alice : bob) }),
      },
      connectMs === undefined ? {} : { timeouts: { connectMs } },
    );
    return p;
  }

  it('TURN-only caller, reflector-only callee: both end at the connect timeout with NO_COMMON_RELAY saying why', async () => {
    const baseline = resourceBaseline();
    const phones = await scene('turn', 'reflector', 3_000);
    const incomingP = nextIncoming(phones.bob);
    const outgoing = await phones.alice.call(BOB);
    const incoming = await incomingP;
    void incoming.accept().catch(() => undefined);
    const [endOut, endIn] = await Promise.all([ended(outgoing, 15_000), ended(incoming, 15_000)]);

    // Each side really saw a different list: the caller's phoneCall (the confirmCall result) and the callee's update.
    const bobCall = phones.telegram.deliveredUpdates(BOB).map((u) => (u as Api.UpdatePhoneCall).phoneCall).find((c) => c instanceof Api.PhoneCall) as Api.PhoneCall;
    expect(bobCall.connections.map((c) => c.className)).toEqual(['PhoneConnection']);
    expect(bobCall.p2pAllowed).toBeFalsy();

    const local = [endOut, endIn].filter((e) => e.by === 'local');
    expect(local.length).toBeGreaterThanOrEqual(1);
    for (const e of local) expect(e.error?.code).toBe('NO_COMMON_RELAY');
    for (const e of [endOut, endIn]) expect(e.reason).toBe('disconnect');
    // Whichever side gave up first, its message names the relay it lacks.
    const byCaller = endOut.by === 'local' ? endOut.error!.message : undefined;
    const byCallee = endIn.by === 'local' ? endIn.error!.message : undefined;
    if (byCaller) {
      expect(byCaller).toMatch(/no common relay with the peer: the peer offered 1 reflector candidate for reflector server 1, reachable only through that reflector with the call's peer tag/);
      expect(byCaller).toMatch(/our relays: turn 127\.0\.0\.2:\d+/);
    }
    if (byCallee) {
      expect(byCallee).toMatch(/no common relay with the peer: the peer offered 1 relay candidate, which only a TURN relay of ours could reach with p2p not allowed/);
      expect(byCallee).toMatch(/our relays: reflector 127\.0\.0\.1:\d+ \(server 1\)/);
    }
    await settled(baseline);
  }, 30_000);

  it('caller both, callee only the reflector: connects through the reflector', async () => {
    const phones = await scene('both', 'reflector');
    const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
    for (const call of [outgoing, incoming]) expect(call.getStats().connection!.path).toMatchObject({ kind: 'reflector' });
    // Audio crosses the path; its quality through a reflector is reflector.test.ts' business.
    expect(await audioPasses(outgoing, incoming, 2_000)).toBeGreaterThanOrEqual(0.9);
    await outgoing.hangup();
  });

  it('caller only TURN, callee both: connects relay to relay through TURN', async () => {
    const phones = await scene('turn', 'both');
    const { outgoing, incoming } = await connectCall(phones.alice, phones.bob, BOB, 15_000);
    for (const call of [outgoing, incoming]) expect(call.getStats().connection!.path).toMatchObject({ kind: 'turn', remoteType: 'relay' });
    expect(await audioPasses(incoming, outgoing, 2_000)).toBeGreaterThanOrEqual(0.9);
    await outgoing.hangup();
  });
});
