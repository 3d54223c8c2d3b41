/**
 * Calls whose phone.sendSignalingData relay through the fake Telegram loses, duplicates and
 * reorders packets (seeded): the encrypted signaling channel's acks and resends, and the
 * transport's negotiation, must still bring the call up and audio through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BOB, connectCall, ended, expectHears, phones, playTone, type Phones } from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('lossy signaling relay', () => {
  it('20% loss + duplication + reordering: connects and carries a 440 Hz tone', async () => {
    p = await phones({
      seed: 7,
      signaling: { loss: 0.2, duplicate: 0.2, reorder: 0.3, reorderDelayMs: 40, delayMs: { min: 0, max: 5 } },
    });
    // Resends come after 3–5 s (tgcalls' timings), so a lost packet costs seconds.
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB, 20_000);
    expect(outgoing.emoji?.emoji).toEqual(incoming.emoji?.emoji);

    void playTone(outgoing, 440, 2.5);
    await expectHears(incoming, 440);

    const faults = p.telegram.getSignalingStats();
    // The faults really happened on this call's signaling.
    expect(faults.dropped).toBeGreaterThan(0);
    expect(faults.duplicated).toBeGreaterThan(0);
    expect(faults.reordered).toBeGreaterThan(0);
    const channel = outgoing.getStats().connection?.signalingChannel;
    console.log(`lossy signaling: relay ${JSON.stringify(faults)}, caller connect ${Math.round(outgoing.getStats().connectMs ?? -1)} ms, channel ${JSON.stringify(channel)}`);

    const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming)]);
    expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
    expect(inc).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
  }, 40_000);
});
