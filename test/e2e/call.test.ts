/**
 * Full calls between two accounts through the fake Telegram: real DH, real encrypted signaling,
 * real node-datachannel peer connections on loopback, real Opus.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, eventually, expectHears, nextIncoming, phones, playTone, type Phones } from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

describe('a call between two tgcall phones', () => {
  it('connects both roles with equal emoji and carries 440 Hz one way and 880 Hz the other', async () => {
    p = await phones();
    const incoming = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const ringing = new Promise<void>((resolve) => outgoing.once('ringing', resolve));
    const callee = await incoming;
    expect(callee.direction).toBe('incoming');
    expect(callee.peerUserId).toBe(ALICE);
    await ringing;
    await Promise.all([callee.accept(), outgoing.whenConnected()]);
    expect(outgoing.state).toBe('connected');
    expect(callee.state).toBe('connected');
    expect(outgoing.emoji?.emoji).toHaveLength(4);
    expect(outgoing.emoji?.emoji).toEqual(callee.emoji?.emoji);
    expect(outgoing.emoji?.keyFingerprint).toBe(callee.emoji?.keyFingerprint);
    expect(outgoing.version).toBe('8.0.0');

    void playTone(outgoing, 440, 3);
    void playTone(callee, 880, 3);
    await Promise.all([expectHears(callee, 440, 'callee hears 440 Hz'), expectHears(outgoing, 880, 'caller hears 880 Hz')]);

    const stats = outgoing.getStats();
    expect(stats.connection?.path).toMatchObject({ kind: 'host', local: 'direct4', remoteType: 'host' });
    expect(stats.media.sent.packets).toBeGreaterThan(50);
    expect(stats.media.received.packets).toBeGreaterThan(50);

    const [endOut, endIn] = await Promise.all([outgoing.hangup(), callee.whenEnded()]);
    expect(endOut).toMatchObject({ reason: 'hangup', by: 'local' });
    expect(endIn).toMatchObject({ reason: 'hangup', by: 'remote' });
    expect(outgoing.state).toBe('ended');
    expect(callee.state).toBe('ended');
  });

  it('mute belongs to the call: set before the media exists it reaches the peer once connected, and later changes follow', async () => {
    p = await phones();
    const incoming = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    outgoing.mute(); // no session yet: only the call and its media hold it
    expect(outgoing.muted).toBe(true);
    const callee = await incoming;
    const seen: boolean[] = [];
    callee.on('remoteMediaState', (state) => seen.push(state.muted));
    await Promise.all([callee.accept(), outgoing.whenConnected()]);
    expect(await eventually(() => seen.at(-1) === true, 5_000)).toBe(true);
    outgoing.unmute();
    expect(outgoing.muted).toBe(false);
    expect(await eventually(() => seen.at(-1) === false, 5_000)).toBe(true);
    outgoing.mute();
    expect(await eventually(() => seen.at(-1) === true, 5_000)).toBe(true);
    expect(outgoing.getStats().media.sent.mutedFrames).toBeGreaterThan(0);
    await Promise.all([outgoing.hangup(), callee.whenEnded()]);
  });
});
