/**
 * The acceptance test: real calls between tgcall and ntgcalls (an independent implementation of
 * the same protocol, C++/libwebrtc, from PyPI), both roles, both ntgcalls versions. Everything
 * goes through the fake Telegram's real state machine: ntgcalls' DH values, its fingerprint check,
 * version choice and signaling blobs all pass through the same server our TelegramCalls uses.
 * ntgcalls ignores loopback, so it runs inside a network namespace and tgcall binds the host end
 * of the namespace's veth pair.
 *
 * Protocols: 8.0.0 with ntgcalls 2.2.5 (2.2.x always runs 8.0.0 and has no V3: its protocol lists
 * 8.0.0/9.0.0 only, so a V3-enabled tgcall falls back to 8.0.0 with it), 9.0.0 and 13.0.0 (signaling
 * V3: gzip'd JSON in SCTP user messages, SCTP packets as the blobs; v3-sctp.md) with ntgcalls 3.0.5.
 * The V3 cases also run with 20 % loss, duplication and reordering on the fake's signaling relay,
 * where SCTP must retransmit within ntgcalls' 10 s connect timeout.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram, generateTone, type FakeTelegramHooks, type FakeTelegramOptions } from '../../src/fake/index.js';
import { CallSession } from '../../src/call/call-session.js';
import { ChunkType, parseSctpPacket } from '../../src/carrier/index.js';
import { TelegramCalls, silentLogger, type Call, type MediaState } from '../../src/index.js';
import { MediaSession } from '../../src/media/index.js';
import type { CallReadyInfo } from '../../src/signaling/index.js';
import { expectHears, nextIncoming, playTone, toneShare } from '../e2e/helpers.js';
import { retransmissionCounter } from '../helpers/sctp-retransmissions.js';
import { createNetns, type Netns } from './netns.js';
import { expectNtgcallsEmoji } from './ntgcalls-emoji.js';
import { NtgcallsPeer } from './ntgcalls-peer.js';
import { ntgcallsStopping } from './pair-checks.js';
import { NtgcallsPhone } from './ntgcalls-phone.js';
import { checkNtgcallsPrereqs, interopGate, type NtgcallsVersion } from './prereqs.js';
import { analyseTone, readS16le } from './tone-detector.js';

const TGCALL = 5001n;
const NTG = 5002n;
const WE_SEND_HZ = 880;
const THEY_SEND_HZ = 440;
const BYTES_PER_SECOND = 48000 * 2;

interface Scene {
  telegram: FakeTelegram;
  calls: TelegramCalls;
  phone: NtgcallsPhone;
  peer: NtgcallsPeer;
  rxPath: string;
}

/** What the signaling layer would hand over after a key exchange, for a given key. */
function skipReady(key: Uint8Array, isOutgoing: boolean, version: string): CallReadyInfo {
  return {
    callId: 1n,
    accessHash: 1n,
    peerUserId: NTG,
    isOutgoing,
    key,
    keyFingerprint: 0n,
    emoji: [],
    emojiIndices: [],
    version,
    protocol: { udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92, libraryVersions: [version] },
    connections: [],
    p2pAllowed: true,
    customParameters: undefined,
    customParametersJson: undefined,
    video: false,
  };
}

interface ProtocolCase {
  readonly ntgcalls: NtgcallsVersion;
  /** The version both sides end up on. */
  readonly version: string;
  /** What ntgcalls is given (2.2.x always runs 8.0.0; 3.x takes the highest of its list). */
  readonly ntgVersions: string[];
  /** tgcall's `libraryVersions` (default: the library's). */
  readonly tgcallVersions?: string[];
}

const PROTOCOL_CASES: readonly ProtocolCase[] = [
  { ntgcalls: '2.2.5', version: '8.0.0', ntgVersions: ['8.0.0'] },
  // tgcall advertises 8.0.0 only by default; 9.0.0 is asked for here to keep it proven.
  { ntgcalls: '3.0.5', version: '9.0.0', ntgVersions: ['9.0.0', '8.0.0'], tgcallVersions: ['9.0.0', '8.0.0'] },
  { ntgcalls: '3.0.5', version: '13.0.0', ntgVersions: ['13.0.0', '8.0.0'], tgcallVersions: ['13.0.0', '8.0.0'] },
];

/** The relay faults of the lossy V3 runs (seeded; interleaving of the two directions still varies). */
const LOSSY = { loss: 0.2, duplicate: 0.2, reorder: 0.3, reorderDelayMs: 40, delayMs: { min: 0, max: 5 } } as const;

/** Waits until ntgcalls recorded `seconds` of audio; returns the byte count at that point. */
async function recorded(peer: NtgcallsPeer, seconds: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    const stats = await peer.stats(2_000);
    if (stats.rxBytes >= seconds * BYTES_PER_SECOND) return stats.rxBytes;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ntgcalls recorded less than ${seconds}s within ${timeoutMs} ms`);
}

for (const protocol of PROTOCOL_CASES) {
  const version = protocol.ntgcalls;
  const v3 = protocol.version === '13.0.0';
  const title = `tgcall <-> ntgcalls ${version} on ${protocol.version}`;
  const enabled = interopGate(title, checkNtgcallsPrereqs(version));

  describe.skipIf(!enabled)(title, () => {
    let ns: Netns | undefined;
    let dir = '';
    let scene: Scene | undefined;

    beforeAll(async () => {
      ns = await createNetns({ hostSide: true });
      dir = mkdtempSync(join(tmpdir(), `tgcall-ntg-${version}-${protocol.version}-`));
    });

    afterEach(async () => {
      if (!scene) return;
      scene.phone.close();
      await scene.peer.close();
      await scene.calls.stop();
      scene.telegram.close();
      scene = undefined;
    });

    afterAll(async () => {
      await ns?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function setup(label: string, fake: FakeTelegramOptions = {}, hooks: FakeTelegramHooks = {}): Promise<Scene> {
      const telegram = new FakeTelegram({ seed: 7, ...fake });
      Object.assign(telegram.hooks, hooks);
      const calls = new TelegramCalls(telegram.createClient(TGCALL, 'tgcall'), {
        bindAddress: ns!.hostAddress,
        ...(protocol.tgcallVersions ? { libraryVersions: protocol.tgcallVersions } : {}),
      });
      await calls.start();
      const peer = await NtgcallsPeer.start({ version, netns: ns!, name: `ntgcalls ${version} (${label})` });
      const rxPath = join(dir, `${label}.raw`);
      const phone = new NtgcallsPhone({ peer, client: telegram.createClient(NTG, 'ntgcalls'), versions: protocol.ntgVersions, toneHz: THEY_SEND_HZ, toneSeconds: 15, rxPath });
      scene = { telegram, calls, phone, peer, rxPath };
      return scene;
    }

    /** Audio both ways, then mute/unmute seen by ntgcalls (and, on V3, ntgcalls' mute seen by tgcall). */
    async function exerciseCall(s: Scene, call: Call): Promise<void> {
      // ntgcalls gives up 10 s after connect_p2p: we must be connected well within that.
      await Promise.all([call.whenConnected(), s.peer.waitForState('CONNECTED', 10_000)]);
      expect(call.version).toBe(protocol.version);
      void playTone(call, WE_SEND_HZ, 12);
      await expectHears(call, THEY_SEND_HZ, `tgcall hears ${THEY_SEND_HZ} Hz from ntgcalls`);
      const beforeMute = await recorded(s.peer, 2);
      const theyHear = analyseTone(readS16le(s.rxPath, beforeMute), WE_SEND_HZ);
      expect(theyHear.analysed, 'ntgcalls recording has voiced windows').toBeGreaterThanOrEqual(10);
      expect(theyHear.dominantFraction, `ntgcalls hears ${WE_SEND_HZ} Hz from tgcall`).toBeGreaterThanOrEqual(0.9);

      // Mute reaches ntgcalls as a remote source change; unmute restores the audio.
      const muted = s.peer.waitFor('remote_source', (r) => r.device === 'MICROPHONE' && r.state !== 'ACTIVE', 5_000);
      call.mute();
      await muted;
      const unmuted = s.peer.waitFor('remote_source', (r) => r.device === 'MICROPHONE' && r.state === 'ACTIVE', 5_000);
      call.unmute();
      await unmuted;
      const afterUnmute = (await s.peer.stats()).rxBytes;
      const later = await recorded(s.peer, afterUnmute / BYTES_PER_SECOND + 1.5);
      const tail = readS16le(s.rxPath, later).subarray(Math.floor(afterUnmute / 2) + 48000 * 0.3);
      expect(analyseTone(tail, WE_SEND_HZ).dominantFraction, 'audio after unmute').toBeGreaterThanOrEqual(0.9);

      if (v3) {
        // ntgcalls' mute reaches tgcall as the peer's MediaState, and so does its unmute.
        const theyMute = nextMediaState(call, true);
        await s.peer.mute();
        await theyMute;
        const theyUnmute = nextMediaState(call, false);
        await s.peer.unmute();
        await theyUnmute;
      }
    }

    async function tgcallCalls(s: Scene, hangupBy: 'tgcall' | 'ntgcalls'): Promise<Call> {
      const emojis = s.peer.waitFor('emojis', undefined, 10_000).catch(() => undefined);
      const call = await s.calls.call(NTG);
      await exerciseCall(s, call);
      if (version !== '2.2.5') expectNtgcallsEmoji((await emojis)?.emojis, call, s.telegram, NTG);
      await hangUp(s, call, hangupBy);
      return call;
    }

    async function ntgcallsCalls(s: Scene, hangupBy: 'tgcall' | 'ntgcalls'): Promise<Call> {
      const emojis = s.peer.waitFor('emojis', undefined, 10_000).catch(() => undefined);
      const incoming = nextIncoming(s.calls);
      await s.phone.placeCall(TGCALL, undefined);
      const call = await incoming;
      expect(call.peerUserId).toBe(NTG);
      await call.accept();
      await exerciseCall(s, call);
      if (version !== '2.2.5') expectNtgcallsEmoji((await emojis)?.emojis, call, s.telegram, TGCALL);
      await hangUp(s, call, hangupBy);
      return call;
    }

    const ntgcallsStops = <T,>(s: Scene, stopping: Promise<T>): Promise<T | undefined> => ntgcallsStopping(s.peer, stopping, `ntgcalls ${version}`);

    async function hangUp(s: Scene, call: Call, by: 'tgcall' | 'ntgcalls'): Promise<void> {
      if (by === 'tgcall') {
        const report = ntgcallsStops(s, s.peer.waitFor('report', undefined, 10_000));
        const end = await call.hangup();
        expect(end).toMatchObject({ reason: 'hangup', by: 'local' });
        const theirs = await report;
        if (theirs) expect(theirs.reason).toBe('hangup');
      } else {
        await ntgcallsStops(s, s.phone.hangup());
        const end = await call.whenEnded();
        expect(end).toMatchObject({ reason: 'hangup', by: 'remote' });
      }
      expect(s.phone.errors).toEqual([]);
    }

    it('tgcall calls ntgcalls: DH through the fake server, emoji, tones both ways, mute, tgcall hangs up', async () => {
      const s = await setup('tgcall-caller');
      const call = await tgcallCalls(s, 'tgcall');
      expect(call.getStats().connection!.signalingCarrier.kind).toBe(v3 ? 'sctp' : 'direct');
      expect(statSync(s.rxPath).size).toBeGreaterThan(BYTES_PER_SECOND);
    }, 60_000);

    it('ntgcalls calls tgcall: tgcall answers, emoji, tones both ways, mute, ntgcalls hangs up', async () => {
      const s = await setup('tgcall-callee');
      await ntgcallsCalls(s, 'ntgcalls');
    }, 60_000);

    if (v3) {
      for (const [role, hangupBy] of [['caller', 'ntgcalls'], ['callee', 'tgcall']] as const) {
        it(`20% loss + duplication + reordering on the relay, tgcall ${role}: SCTP retransmits, call as above, ${hangupBy} hangs up`, async () => {
          const retransmissions = retransmissionCounter();
          const s = await setup(`lossy-${role}`, { seed: 21, signaling: LOSSY }, { signaling: retransmissions.hook });
          const call = role === 'caller' ? await tgcallCalls(s, hangupBy) : await ntgcallsCalls(s, hangupBy);
          const faults = s.telegram.getSignalingStats();
          expect(faults.dropped, 'the relay lost packets').toBeGreaterThan(0);
          expect(faults.duplicated, 'the relay duplicated packets').toBeGreaterThan(0);
          expect(faults.reordered, 'the relay reordered packets').toBeGreaterThan(0);
          expect(retransmissions.count, 'SCTP retransmitted DATA').toBeGreaterThan(0);
          const stats = call.getStats();
          console.log(`V3 lossy (tgcall ${role}): relay ${JSON.stringify(faults)}, DATA retransmissions ${retransmissions.count}, tgcall connect ${Math.round(stats.connectMs ?? -1)} ms, carrier ${JSON.stringify(stats.connection?.signalingCarrier)}`);
        }, 60_000);
      }
    }

    if (version === '2.2.5') {
      it('a V3-enabled tgcall (13.0.0, 8.0.0) calls ntgcalls 2.2.5, which has no V3: both run 8.0.0', async () => {
        const telegram = new FakeTelegram({ seed: 9 });
        const calls = new TelegramCalls(telegram.createClient(TGCALL, 'tgcall'), { bindAddress: ns!.hostAddress, libraryVersions: ['13.0.0', '8.0.0'] });
        await calls.start();
        const peer = await NtgcallsPeer.start({ version, netns: ns!, name: 'ntgcalls 2.2.5 (fallback)' });
        const rxPath = join(dir, 'fallback.raw');
        const phone = new NtgcallsPhone({ peer, client: telegram.createClient(NTG, 'ntgcalls'), versions: ['8.0.0'], toneHz: THEY_SEND_HZ, toneSeconds: 15, rxPath });
        scene = { telegram, calls, phone, peer, rxPath };
        const call = await calls.call(NTG);
        await Promise.all([call.whenConnected(), peer.waitForState('CONNECTED', 10_000)]);
        expect(call.version).toBe('8.0.0');
        expect(call.getStats().connection!.signalingCarrier.kind).toBe('direct');
        await call.hangup();
      }, 60_000);
    }

    it('DH-free (skip_exchange): transport, encrypted channel and media work with a shared key, both roles', async () => {
      // Leaves DH, fingerprints and the fake server out: a failure here is the transport's or the
      // channel's, not the key exchange's.
      for (const weAreCaller of [true, false]) {
        const peer = await NtgcallsPeer.start({ version, netns: ns!, name: `ntgcalls ${version} (skip)` });
        const rxPath = join(dir, `skip-${weAreCaller ? 'caller' : 'callee'}.raw`);
        const key = new Uint8Array(randomBytes(256));
        const media = new MediaSession({ ssrc: 0x1234567, payloadType: 111 }, { sendRtp: (p) => connection.sendRtp(p), sendRtcp: (p) => connection.sendRtcp(p) });
        const connection: CallSession = new CallSession({
          ready: skipReady(key, weAreCaller, protocol.version),
          media,
          ssrc: 0x1234567,
          sendSignalingData: (data) => peer.signal(data),
          bindAddress: ns!.hostAddress,
          logger: silentLogger,
        });
        peer.on('signal', ({ data }) => connection.receiveSignalingData(data));
        try {
          peer.init({ role: weAreCaller ? 'callee' : 'caller', versions: protocol.ntgVersions, toneHz: THEY_SEND_HZ, toneSeconds: 10, rxPath, maxLifetimeS: 30 });
          const connected = new Promise<void>((resolve, reject) => {
            connection.once('connected', resolve);
            connection.once('failed', reject);
          });
          connection.start();
          peer.skipKey(key, !weAreCaller);
          await Promise.all([connected, peer.waitForState('CONNECTED', 10_000)]);
          const tone = generateTone({ frequency: WE_SEND_HZ, durationMs: 4000 });
          void media.play((function* () { for (let i = 0; i < tone.length; i += 960) yield tone.subarray(i, i + 960); })());
          const frames: Int16Array[] = [];
          const iterator = media.frames()[Symbol.asyncIterator]();
          const until = Date.now() + 2000;
          while (Date.now() < until) {
            const next = await iterator.next();
            if (next.done) break;
            frames.push(next.value.pcm);
          }
          await iterator.return?.();
          const heard = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
          frames.reduce((o, f) => (heard.set(f, o), o + f.length), 0);
          expect(toneShare(heard, THEY_SEND_HZ), `tgcall (${weAreCaller ? 'caller' : 'callee'}) hears ntgcalls`).toBeGreaterThanOrEqual(0.9);
          const bytes = await recorded(peer, 1.5);
          expect(analyseTone(readS16le(rxPath, bytes), WE_SEND_HZ).dominantFraction, 'ntgcalls hears tgcall').toBeGreaterThanOrEqual(0.9);
        } finally {
          await connection.close();
          await peer.close();
        }
      }
    }, 60_000);

    it('corrupted and replayed signaling packets are dropped by both sides; the call goes on', async () => {
      // Every third packet, either way, is tampered with, and so is the first packet to tgcall that
      // carries a message (V3: an SCTP packet with a DATA chunk; otherwise every blob is one
      // encrypted packet). Without the second rule, which packets reach tgcall tampered depends on
      // how the two directions interleave: in 11 traced runs (2026-12, idle and loaded) the
      // tampered DATA packets to tgcall were #6 plus one or two of #12/#15/#18, and only #6 was
      // always one of them, because ntgcalls sent its first DATA right after its COOKIE_ACK, before
      // tgcall's own first DATA, a race between the two processes.
      let index = 0;
      let messageToTgcallSeen = false;
      const tampered: string[] = [];
      const s = await setup('tampered', {}, {
        signaling: (packet) => {
          index++;
          const data = v3 ? sctpDataPacket(packet.data) : true;
          const firstMessageToTgcall = packet.to === TGCALL && data && !messageToTgcallSeen;
          if (packet.to === TGCALL && data) messageToTgcallSeen = true;
          if (index % 3 !== 0 && !firstMessageToTgcall) return packet.data;
          tampered.push(`#${index}->${packet.to === TGCALL ? 'tgcall' : 'ntgcalls'}${v3 && data ? '(DATA)' : ''}`);
          const corrupted = new Uint8Array(packet.data);
          corrupted[corrupted.length - 1] = corrupted[corrupted.length - 1]! ^ 0x5a;
          // the real packet, a corrupted copy, and a replay of the real one
          return [packet.data, corrupted, packet.data];
        },
      });
      const call = await s.calls.call(NTG);
      await Promise.all([call.whenConnected(), s.peer.waitForState('CONNECTED', 10_000)]);
      void playTone(call, WE_SEND_HZ, 6);
      await expectHears(call, THEY_SEND_HZ);
      const { signalingChannel: channel, signalingCarrier: carrier } = call.getStats().connection!;
      // A failure says what was tampered with and what each layer counted.
      const seen = `tampered ${tampered.join(' ')}; carrier ${JSON.stringify(carrier)}; channel drops ${JSON.stringify(channel.dropped)}`;
      if (v3) {
        // SCTP packets are in the clear: a flipped byte fails their CRC32c; a replayed DATA chunk
        // is a duplicate TSN that SCTP re-acknowledges without delivering it again.
        expect(carrier.dropped.checksum, seen).toBeGreaterThan(0);
        expect(carrier.duplicateData ?? 0, seen).toBeGreaterThan(0);
        expect(channel.dropped.msgKey + channel.dropped.replay, seen).toBe(0);
      } else {
        expect(channel.dropped.msgKey, seen).toBeGreaterThan(0);
        expect(channel.dropped.replay + channel.dropped.duplicate, seen).toBeGreaterThan(0);
      }
      expect(call.state).toBe('connected');
      expect(s.peer.exitCode).toBeUndefined();
      await call.hangup();
    }, 60_000);
  });
}

/** True for an SCTP packet with at least one DATA chunk (a V3 signaling message, or part of one). */
function sctpDataPacket(blob: Uint8Array): boolean {
  const parsed = parseSctpPacket(blob);
  return parsed.ok && parsed.packet.chunks.some((chunk) => chunk.type === ChunkType.DATA);
}

/** Resolves when tgcall sees the peer's MediaState with `muted`. */
function nextMediaState(call: Call, muted: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      call.off('remoteMediaState', listener);
      reject(new Error(`no remote MediaState muted=${muted} within 5 s`));
    }, 5_000);
    const listener = (state: MediaState): void => {
      if (state.muted !== muted) return;
      clearTimeout(timer);
      call.off('remoteMediaState', listener);
      resolve();
    };
    call.on('remoteMediaState', listener);
  });
}
