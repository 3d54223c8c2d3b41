/**
 * What the server tells a call, end to end through the fake Telegram with real calls on loopback:
 * `need_debug` (phone.saveCallDebug sent by itself, a stats summary without secrets, or not when
 * turned off), conference migration (the slug reaches the `ended` info), and the server's
 * call_connect_timeout_ms reaching the transport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransportError, type Logger } from '../../src/index.js';
import { ALICE, BOB, connectCall, ended, eventually, nextIncoming, phonesWith, type Phones } from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

function recorder(lines: string[]): Logger {
  const keep = (message: string, fields?: Record<string, unknown>): void => {
    lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: keep, error: keep, child: () => logger };
  return logger;
}

describe('need_debug', () => {
  it('each side sends phone.saveCallDebug by itself with a stats summary that holds no key, emoji, credential or address', async () => {
    p = await phonesWith({ needDebug: true }, {}, {});
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    expect(await eventually(() => outgoing.getStats().media.received.packets > 10, 5_000)).toBe(true);
    const emoji = outgoing.emoji!;
    const [endOut] = await Promise.all([outgoing.hangup(), ended(incoming)]);
    expect(endOut.needDebug).toBe(true);
    const id = outgoing.id!;
    expect(await eventually(() => (p!.telegram.getCall(id)?.debug.length ?? 0) === 2, 5_000)).toBe(true);
    for (const json of p.telegram.getCall(id)!.debug) {
      const report = JSON.parse(json) as Record<string, any>;
      expect(report).toMatchObject({ library: 'tgcall', format: 1, libraryVersion: '8.0.0', end: { reason: 'hangup', error: null } });
      expect(report.path).toMatchObject({ kind: 'host', remoteType: 'host' });
      expect(report.media.sent.packets).toBeGreaterThan(0);
      expect(report.media.received.bytes).toBeGreaterThan(0);
      expect(typeof report.connectMs).toBe('number');
      // Nothing secret or identifying: no fingerprint, emoji, address, ICE credentials.
      expect(json).not.toContain(String(emoji.keyFingerprint));
      for (const e of emoji.emoji) expect(json).not.toContain(e);
      expect(json).not.toMatch(/127\.0\.0\.1|ufrag|pwd|password|key"/i);
    }
    expect(new Set(p.telegram.getCall(id)!.debug.map((j) => (JSON.parse(j) as { direction: string }).direction))).toEqual(new Set(['outgoing', 'incoming']));
  });

  it('autoSaveDebug: false sends nothing from that side', async () => {
    p = await phonesWith({ needDebug: true }, {}, { alice: { autoSaveDebug: false } });
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    await Promise.all([outgoing.hangup(), ended(incoming)]);
    // Each side asks (synchronously) before it reports the end: both ends are in.
    const saves = p.telegram.requestLog.filter((r) => r.method === 'phone.SaveCallDebug');
    expect(saves.map((r) => r.from)).toEqual([BOB]);
  });
});

describe('conference migration', () => {
  it('phoneCallDiscardReasonMigrateConferenceCall ends both calls with reason migrate and the slug', async () => {
    p = await phonesWith({}, {}, {});
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    expect(p.telegram.migrateCall(outgoing.id!, 'AbC-123_conf')).toBe(true);
    const [endOut, endIn] = await Promise.all([ended(outgoing), ended(incoming)]);
    for (const end of [endOut, endIn]) expect(end).toMatchObject({ reason: 'migrate', by: 'remote', slug: 'AbC-123_conf', error: undefined });
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'migrate' });
  });
});

describe("the server's call_connect_timeout_ms", () => {
  it('is the transport connect timeout when no option sets one', async () => {
    const lines: string[] = [];
    p = await phonesWith({ config: { callConnectTimeoutMs: 1_500 } }, {}, { alice: { logger: recorder(lines) } });
    p.telegram.hooks.signaling = () => null;
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const incoming = await incomingP;
    incoming.accept().catch(() => undefined);
    const [out] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(out.error).toBeInstanceOf(TransportError);
    expect(out.error?.code).toBe('CONNECTION_LOST');
    expect(lines.some((l) => l.startsWith('not connected in time') && l.includes('"timeoutMs":1500'))).toBe(true);
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardedBy: ALICE });
  });
});
