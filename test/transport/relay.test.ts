/**
 * Relay-only calls (`p2p_allowed = false`) through a real TURN server on loopback: Debian's coturn
 * (`apt-get install coturn`), started about as in transport-v2.md §6. Without `turnserver` on the
 * PATH the suite is skipped loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallTransport } from '../../src/transport/call-transport.js';
import { iceServersFromConnections } from '../../src/transport/ice-servers.js';
import { liveNativeHandles } from '../../src/transport/native-handles.js';
import { SignalingPipe } from './signaling-pipe.js';

const hasTurnserver = spawnSync('sh', ['-c', 'command -v turnserver'], { encoding: 'utf8' }).status === 0;
if (!hasTurnserver) console.warn('relay.test.ts skipped: no turnserver (apt-get install coturn)');

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe.skipIf(!hasTurnserver)('CallTransport relay only, through TURN on loopback', () => {
  let turn: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freeUdpPort();
    const relayBase = 40000 + (port % 20000);
    turn = spawn(
      'turnserver',
      [
        '-n',
        '--listening-ip=127.0.0.1',
        // Relay addresses on another loopback IP than our ICE sockets: TURN permissions are per IP,
        // so only then does the TURN server refuse a direct host → relay path, as it does for real
        // (libdatachannel's relay policy only stops advertising non-relay candidates; libjuice
        // still checks from its host socket).
        '--relay-ip=127.0.0.2',
        `--listening-port=${port}`,
        `--min-port=${relayBase}`,
        `--max-port=${relayBase + 200}`,
        '--user=tg:secret:with:colons', // user `tg`, password `secret:with:colons`
        '--realm=tgcall',
        '--lt-cred-mech',
        '--allow-loopback-peers',
        '--no-cli',
        '--no-tls',
        '--no-dtls',
        '--no-tcp',
        '--log-file=stdout',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`turnserver did not start:\n${log}`)), 10_000);
      turn!.stdout!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Total General servers')) {
          clearTimeout(timer);
          resolve();
        }
      });
      turn!.on('exit', (code) => reject(new Error(`turnserver exited with ${code}:\n${log}`)));
    });
  });

  afterAll(() => {
    turn?.kill('SIGTERM');
  });

  it('connects over a relay/relay pair with servers from phoneConnectionWebrtc, and carries RTP', async () => {
    // The password has colons: the object form needs no URL escaping.
    const iceServers = iceServersFromConnections(
      [{ ip: '127.0.0.1', ipv6: '', port, username: 'tg', password: 'secret:with:colons', turn: true, stun: true }],
      { relayOnly: true },
    );
    expect(iceServers).toEqual([{ hostname: '127.0.0.1', port, username: 'tg', password: 'secret:with:colons', relayType: 'TurnUdp' }]);
    const options = { bindAddress: '127.0.0.1', iceServers, relayOnly: true, connectTimeoutMs: 15_000 };
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
        const selected = t.selectedCandidatePair();
        expect(selected?.local.type).toBe('relay');
        expect(selected?.remote.type).toBe('relay');
        expect(selected?.remote.address).toBe('127.0.0.2');
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
