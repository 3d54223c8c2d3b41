/**
 * Relay-only calls (`p2p_allowed = false`) through a real TURN server on loopback: Debian's coturn
 * (`apt-get install coturn`), started about as in transport-v2.md §6. Without `turnserver` on the
 * PATH the suite is skipped loudly, except with CI=true, where it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallTransport } from '../../src/transport/call-transport.js';
import { iceServersFromConnections } from '../../src/transport/ice-servers.js';
import { liveNativeHandles } from '../../src/transport/native-handles.js';
import { startTurnServer, turnGate, type TurnServer } from '../helpers/turn-server.js';
import { SignalingPipe } from './signaling-pipe.js';

const enabled = turnGate('relay.test.ts');

describe.skipIf(!enabled)('CallTransport relay only, through TURN on loopback', () => {
  let turn: TurnServer | undefined;
  let port = 0;

  beforeAll(async () => {
    // Relay addresses on another loopback IP than our ICE sockets (see TurnServerOptions.relayIp).
    turn = await startTurnServer({ listeningIp: '127.0.0.1', relayIp: '127.0.0.2', username: 'tg', password: 'secret:with:colons' });
    port = turn.port;
  });

  afterAll(async () => {
    await turn?.stop();
  });

  it('connects over a relay/relay pair with servers from phoneConnectionWebrtc, and carries RTP', async () => {
    // The password has colons: the object form needs no URL escaping.
    const iceServers = iceServersFromConnections(
      [{ ip: '127.0.0.1', ipv6: '', port, username: 'tg', password: 'secret:with:colons', turn: true, stun: true }],
      { relayOnly: true },
    );
    expect(iceServers).toEqual([{ hostname: '127.0.0.1', port, username: 'tg', password: 'secret:with:colons', relayType: 'TurnUdp' }]);
    const options = { network: { bindAddress: '127.0.0.1', iceServers, connectTimeoutMs: 15_000 }, relayOnly: true };
    const caller = new CallTransport({ isOutgoing: true, ssrc: 1111, ...options });
    const callee = new CallTransport({ isOutgoing: false, ssrc: 2222, ...options });
    const pipe = new SignalingPipe(caller, callee);
    try {
      const connected = Promise.all(
        [caller, callee].map(
          (t) =>
            new Promise<void>((resolve, reject) => {
              t.once('connected', resolve);
              t.once('closed', (r) => reject(new Error(`closed: ${r}`)));
            }),
        ),
      );
      caller.start();
      callee.start();
      await connected;
      expect(caller.stats.localCandidates).toBeGreaterThan(0);
      for (const t of [caller, callee]) {
        // Our own TURN allocation to the peer's relayed address: relay/relay, all through coturn.
        expect(t.path()).toMatchObject({ kind: 'turn', local: 'relay0', remoteType: 'relay', server: `127.0.0.1:${port}` });
        expect(t.path()?.remote).toMatch(/^127\.0\.0\.2:\d+$/);
        expect(t.stats.network?.relays[0]).toMatchObject({ kind: 'turn', state: 'ready' });
      }

      const got: Buffer[] = [];
      callee.on('rtp', (p) => got.push(p));
      const { ssrc, payloadType } = caller.mediaParams.local!;
      for (let i = 0; i < 200 && got.length < 3; i++) {
        const p = Buffer.alloc(13);
        p[0] = 0x80;
        p[1] = payloadType;
        p.writeUInt16BE(i, 2);
        p.writeUInt32BE(ssrc, 8);
        caller.sendRtp(p);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(got.length).toBeGreaterThanOrEqual(3);
      console.log(`relay connect ms: caller ${caller.stats.connectTimeMs}, callee ${callee.stats.connectTimeMs}`);
    } finally {
      pipe.close();
      await Promise.all([caller.close(), callee.close()]);
    }
    expect(liveNativeHandles()).toBe(0);
  });
});
