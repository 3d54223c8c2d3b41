/**
 * A relay-only call (`p2p_allowed = false`) through a real TURN server on loopback (coturn), with
 * the server handed out the way Telegram does: a `phoneConnectionWebrtc` in the call's connection
 * list. The peers bind 127.0.0.1; coturn listens and relays on 127.0.0.2, so a direct path between
 * the peers' host sockets and the relays is refused by TURN permissions and only relay/relay works.
 * Without `turnserver` the suite is skipped loudly, except with CI=true, where it fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTurnServer, turnGate, type TurnServer } from '../helpers/turn-server.js';
import { BOB, connectCall, ended, expectHears, phones, playTone, resourceBaseline, settled, type Phones } from './helpers.js';

const enabled = turnGate('e2e/relay-only.test.ts');

describe.skipIf(!enabled)('a relay-only call through TURN from the call’s connection list', () => {
  let turn: TurnServer | undefined;
  let p: Phones | undefined;

  beforeAll(async () => {
    turn = await startTurnServer({ listeningIp: '127.0.0.2', relayIp: '127.0.0.2', username: 'tgturn', password: 'pa:ss/word' });
  });

  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  afterAll(async () => {
    await turn?.stop();
  });

  it('connects over a relay pair and carries a 440 Hz tone', async () => {
    const baseline = resourceBaseline();
    p = await phones({
      p2pAllowed: false,
      connections: [
        { kind: 'webrtc', ip: turn!.ip, port: turn!.port, username: turn!.username, password: turn!.password, turn: true, stun: false },
      ],
    });
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB, 15_000);
    for (const call of [outgoing, incoming]) {
      const path = call.getStats().connection?.path;
      // Relay-only: our TURN allocation to the peer's relayed address, both on coturn.
      expect(path, `${call.direction} path`).toMatchObject({ kind: 'turn', remoteType: 'relay', server: `${turn!.ip}:${turn!.port}` });
      expect(path!.remote).toMatch(/^127\.0\.0\.2:\d+$/);
    }

    void playTone(outgoing, 440, 2.5);
    void playTone(incoming, 880, 2.5);
    await Promise.all([expectHears(incoming, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);
    console.log(`relay-only call connect ms: caller ${Math.round(outgoing.getStats().connectMs ?? -1)}, callee ${Math.round(incoming.getStats().connectMs ?? -1)}`);

    const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming)]);
    expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
    expect(inc).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
    expect((await settled(baseline, 2_000)).handles).toBe(baseline.handles);
  });
});
