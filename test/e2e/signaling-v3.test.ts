/**
 * Calls between two tgcall phones on signaling V3 (library versions 12.0.0 / 13.0.0: gzip'd JSON,
 * raw framing, each encrypted packet an SCTP user message, each SCTP packet one
 * phone.sendSignalingData; call-crypto-and-signaling.md §5.4) through the fake Telegram: both
 * versions, the `network_signaling_nosctp` variant, and a relay that loses, duplicates and
 * reorders signaling (SCTP retransmits).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/fake/index.js';
import { TelegramCalls, type Call } from '../../src/index.js';
import { retransmissionCounter } from '../helpers/sctp-retransmissions.js';
import { BOB, connectCall, ended, eventually, expectHears, nextIncoming, phones, phonesWith, playTone, resourceBaseline, settled, type Phones } from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function tonesBothWays(outgoing: Call, incoming: Call): Promise<void> {
  void playTone(outgoing, 440, 7);
  void playTone(incoming, 880, 7);
  // Under loss a negotiation message can arrive a retransmission (>= 1 s) after "connected":
  // measure once audio flows both ways.
  const flowing = await eventually(() => [outgoing, incoming].every((c) => c.getStats().media.received.packets >= 25), 4_000);
  expect(flowing, 'audio flows both ways').toBe(true);
  await Promise.all([expectHears(incoming, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);
}

async function hangUp(outgoing: Call, incoming: Call): Promise<void> {
  const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming)]);
  expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
  expect(inc).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
}

describe('signaling V3 between two tgcall phones', () => {
  for (const version of ['13.0.0', '12.0.0']) {
    it(`${version} over SCTP: connects, equal emoji, tones both ways, hangup, no timer left`, async () => {
      const baseline = resourceBaseline();
      p = await phones({}, { libraryVersions: [version, '8.0.0'] });
      const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
      expect(outgoing.version).toBe(version);
      expect(incoming.version).toBe(version);
      expect(outgoing.emoji?.emoji).toEqual(incoming.emoji?.emoji);
      await tonesBothWays(outgoing, incoming);
      for (const call of [outgoing, incoming]) {
        const connection = call.getStats().connection!;
        expect(connection.signalingCarrier.kind).toBe('sctp');
        expect(connection.signalingCarrier.establishedMs).toBeGreaterThanOrEqual(0);
        // JSON messages carried as SCTP user messages, more SCTP packets than messages (SACKs).
        expect(connection.signalingChannel.messagesDelivered).toBeGreaterThanOrEqual(3);
        expect(connection.signalingCarrier.blobsOut).toBeGreaterThan(connection.signalingCarrier.packetsOut);
        expect(connection.signalingChannel.dropped).toMatchObject({ msgKey: 0, payload: 0, size: 0 });
      }
      await hangUp(outgoing, incoming);
      await p.close();
      p = undefined;
      // werift's T3/SACK/heartbeat timers and the carrier's deadline are gone with the calls.
      const after = await settled(baseline, 3_000);
      expect(after.timers).toBeLessThanOrEqual(baseline.timers);
      expect(after.handles).toBe(baseline.handles);
    });
  }

  it('network_signaling_nosctp: raw gzip packets straight through sendSignalingData', async () => {
    p = await phones({ customParameters: { network_signaling_nosctp: true } }, { libraryVersions: ['13.0.0', '8.0.0'] });
    const sent: Uint8Array[] = [];
    p.telegram.hooks.signaling = (packet) => {
      sent.push(packet.data);
      return packet.data;
    };
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    expect(outgoing.version).toBe('13.0.0');
    await tonesBothWays(outgoing, incoming);
    const carrier = outgoing.getStats().connection!.signalingCarrier;
    expect(carrier.kind).toBe('direct');
    expect(carrier.blobsOut).toBe(carrier.packetsOut);
    // Every blob is an encrypted packet (msg_key || ciphertext), none an SCTP packet (port 5000 = 0x1388).
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((b) => b[0] === 0x13 && b[1] === 0x88 && b[2] === 0x13 && b[3] === 0x88)).toHaveLength(0);
    await hangUp(outgoing, incoming);
  });

  it('network_kcp_experiment on an 8.0.0 call: both sides run V3 over SCTP (the Android engine does), tones both ways', async () => {
    p = await phones({ customParameters: { network_kcp_experiment: true } });
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    expect(outgoing.version).toBe('8.0.0');
    await tonesBothWays(outgoing, incoming);
    for (const call of [outgoing, incoming]) {
      const connection = call.getStats().connection!;
      expect(connection.signalingCarrier.kind).toBe('sctp');
      expect(connection.signalingChannel.messagesDelivered).toBeGreaterThanOrEqual(3);
    }
    await hangUp(outgoing, incoming);
  });

  it('custom parameters per call: nosctp for one call, SCTP for the next', async () => {
    let n = 0;
    const seen = new Map<bigint, boolean>();
    p = await phones(
      {
        customParameters: (call) => {
          if (!seen.has(call.id)) seen.set(call.id, n++ === 0);
          return { network_signaling_nosctp: seen.get(call.id) };
        },
      },
      { libraryVersions: ['13.0.0'] },
    );
    for (const kind of ['direct', 'sctp']) {
      const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
      expect(outgoing.getStats().connection!.signalingCarrier.kind).toBe(kind);
      expect(incoming.getStats().connection!.signalingCarrier.kind).toBe(kind);
      await hangUp(outgoing, incoming);
    }
  });

  it('13.0.0 with 20% loss, duplication and reordering on the relay: SCTP retransmits, the call connects', async () => {
    p = await phones(
      { seed: 4, signaling: { loss: 0.2, duplicate: 0.2, reorder: 0.3, reorderDelayMs: 40, delayMs: { min: 0, max: 5 } } },
      { libraryVersions: ['13.0.0', '8.0.0'] },
    );
    const retransmissions = retransmissionCounter();
    p.telegram.hooks.signaling = retransmissions.hook;
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB, 20_000);
    expect(outgoing.version).toBe('13.0.0');
    await tonesBothWays(outgoing, incoming);
    const faults = p.telegram.getSignalingStats();
    expect(faults.dropped).toBeGreaterThan(0);
    expect(faults.duplicated).toBeGreaterThan(0);
    expect(faults.reordered).toBeGreaterThan(0);
    expect(retransmissions.count, 'SCTP retransmitted lost DATA').toBeGreaterThan(0);
    for (const call of [outgoing, incoming]) {
      const { signalingChannel, signalingCarrier } = call.getStats().connection!;
      // Duplicates are absorbed by SCTP (re-acked, not redelivered) or by the replay window.
      expect(signalingChannel.dropped.msgKey).toBe(0);
      expect(signalingCarrier.kind).toBe('sctp');
    }
    console.log(`V3 lossy relay: ${JSON.stringify(faults)}, DATA retransmissions ${retransmissions.count}, connect ${Math.round(outgoing.getStats().connectMs ?? -1)} ms`);
    await hangUp(outgoing, incoming);
  }, 40_000);

  it('version choice: a V3-enabled caller and a default callee meet on 8.0.0 (V2, direct carrier)', async () => {
    p = await phonesWith({}, {}, { alice: { libraryVersions: ['13.0.0', '8.0.0'] } });
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    expect(outgoing.version).toBe('8.0.0');
    expect(outgoing.getStats().connection!.signalingCarrier.kind).toBe('direct');
    await hangUp(outgoing, incoming);
  });

  it('a peer whose SCTP never answers: the call ends with SCTP_ASSOCIATION_FAILED (caller) after ~9 INIT tries, not at the 20 s connect timeout', async () => {
    p = await phones({}, { libraryVersions: ['13.0.0'] });
    // The relay swallows every SCTP packet, in both directions.
    p.telegram.hooks.signaling = () => null;
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const incoming = await incomingP;
    void incoming.accept().catch(() => undefined);
    const [out, inc] = await Promise.all([ended(outgoing, 15_000), ended(incoming, 15_000)]);
    expect(out.error?.code).toBe('SCTP_ASSOCIATION_FAILED');
    expect(out).toMatchObject({ reason: 'disconnect', by: 'local' });
    expect(inc).toMatchObject({ by: 'remote' });
    expect(outgoing.getStats().connection!.signalingCarrier.blobsOut).toBe(9); // INIT + 8 retransmissions
  }, 30_000);

  it('the libraryVersions option is checked when TelegramCalls is built (typed errors)', () => {
    const telegram = new FakeTelegram();
    try {
      const client = telegram.createClient(9001n);
      expect(() => new TelegramCalls(client, { libraryVersions: ['11.0.0', '8.0.0'] })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
      expect(() => new TelegramCalls(client, { libraryVersions: [] })).toThrow(expect.objectContaining({ code: 'INVALID_LIBRARY_VERSIONS' }));
      expect(() => new TelegramCalls(client, { libraryVersions: ['13.0.0', '8.0.0'] })).not.toThrow();
    } finally {
      telegram.close();
    }
  });
});
