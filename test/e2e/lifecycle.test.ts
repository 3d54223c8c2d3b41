/**
 * How calls end, seen through the public API on both phones: hang-up from either side, decline,
 * busy (server and client), missed (caller's, callee's and the server's ring timeout), the caller
 * cancelling before an answer, and failures before connecting (typed `whenConnected()` rejections).
 * Real DH, encrypted signaling, node-datachannel on loopback and Opus, through the fake Telegram.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallSignalingError, CallTimeoutError, TgCallError, TransportError, type Call, type Logger } from '../../src/index.js';
import { liveNativeHandles, liveNativeHandlesByKind } from '../../src/transport/native-handles.js';
import {
  ALICE,
  BOB,
  CAROL,
  connectCall,
  ended,
  eventually,
  nextIncoming,
  phones,
  phonesWith,
  rejection,
  resourceBaseline,
  settled,
  within,
  type Phones,
} from './helpers.js';

let p: Phones | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

function ringing(call: Call): Promise<void> {
  return within(new Promise<void>((resolve) => call.once('ringing', resolve)), 5_000, 'ringing');
}

/** A logger that keeps what is logged at warn and error level. */
function warningRecorder(lines: string[]): Logger {
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>): void => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  };
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: keep('warn'), error: keep('error'), child: () => logger };
  return logger;
}

function expectTyped(err: unknown, type: abstract new (...args: never[]) => TgCallError, code: string): void {
  expect(err).toBeInstanceOf(TgCallError);
  expect(err).toBeInstanceOf(type);
  expect((err as TgCallError).code).toBe(code);
}

describe('hang-up', () => {
  it('caller hangs up: hangup/local at the caller, hangup/remote at the callee, equal durations, rating asked', async () => {
    const baseline = resourceBaseline();
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    // Long enough for a whole second of call time.
    await new Promise((r) => setTimeout(r, 1_100));
    const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming)]);
    expect(await ended(outgoing)).toBe(out);
    expect(out).toEqual({ reason: 'hangup', by: 'local', duration: out.duration, needRating: true, needDebug: false, error: undefined });
    expect(inc).toEqual({ reason: 'hangup', by: 'remote', duration: out.duration, needRating: true, needDebug: false, error: undefined });
    expect(out.duration).toBeGreaterThanOrEqual(1);
    expect(out.duration).toBeLessThanOrEqual(3);
    expect(p.alice.calls).toEqual([]);
    expect(p.bob.calls).toEqual([]);
    const server = p.telegram.getCall(outgoing.id!);
    expect(server).toMatchObject({ state: 'discarded', discardReason: 'hangup', discardedBy: ALICE });
    // whenEnded() resolves only after the call released its media: nothing of it is left.
    expect((await settled(baseline, 0)).handles).toBe(baseline.handles);
  });

  it('callee hangs up: hangup/local at the callee, hangup/remote at the caller', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const [inc, out] = await Promise.all([incoming.hangup(), ended(outgoing)]);
    expect(inc).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
    expect(out).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
    expect(out.duration).toBe(inc.duration);
    expect(p.telegram.getCall(incoming.id!)).toMatchObject({ state: 'discarded', discardReason: 'hangup', discardedBy: BOB });
    // Hanging up again is harmless and answers with the same info.
    expect(await incoming.hangup()).toBe(inc);
    expect(await outgoing.hangup()).toBe(out);
  });

  it('hang-up from both sides at once ends both calls with reason hangup', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const [out, inc] = await within(Promise.all([outgoing.hangup(), incoming.hangup()]), 10_000, 'both hang-ups');
    expect(out.reason).toBe('hangup');
    expect(inc.reason).toBe('hangup');
    // At most one of them can have been first on the server; neither end can be a failure.
    expect(out.error).toBeUndefined();
    expect(inc.error).toBeUndefined();
    expect(p.telegram.getCall(outgoing.id!)?.discardReason).toBe('hangup');
  });
});

describe('refused calls', () => {
  it('decline: the caller ends busy/remote, the callee busy/local; the caller’s whenConnected() rejects CALL_ENDED', async () => {
    p = await phones();
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const connected = outgoing.whenConnected();
    connected.catch(() => undefined);
    const incoming = await within(incomingP, 5_000, 'incoming');
    await ringing(outgoing);
    const [inc, out] = await Promise.all([incoming.decline(), ended(outgoing)]);
    expect(inc).toEqual({ reason: 'busy', by: 'local', duration: 0, needRating: false, needDebug: false, error: undefined });
    expect(out).toEqual({ reason: 'busy', by: 'remote', duration: 0, needRating: false, needDebug: false, error: undefined });
    expectTyped(await rejection(connected), CallSignalingError, 'CALL_ENDED');
    // After the end, whenConnected() rejects at once, and the callee's accept() is refused as misuse.
    expectTyped(await rejection(outgoing.whenConnected()), CallSignalingError, 'CALL_ENDED');
    expectTyped(await rejection(incoming.accept()), CallSignalingError, 'BAD_STATE');
    expect(outgoing.emoji).toBeUndefined();
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ state: 'discarded', discardReason: 'busy', discardedBy: BOB });
  });

  it('busy (server): carol calling bob while bob talks to alice ends busy/remote; bob hears nothing; the first call goes on', async () => {
    p = await phones();
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const onIncoming = vi.fn();
    p.bob.on('incoming', onIncoming);
    const busy = await p.carol.call(BOB);
    const connected = busy.whenConnected();
    connected.catch(() => undefined);
    const info = await ended(busy);
    expect(info).toEqual({ reason: 'busy', by: 'remote', duration: 0, needRating: false, needDebug: false, error: undefined });
    expectTyped(await rejection(connected), CallSignalingError, 'CALL_ENDED');
    expect(p.telegram.getCall(busy.id!)).toMatchObject({ state: 'discarded', discardReason: 'busy', discardedBy: BOB });
    // Give a stray update time to arrive; bob never sees carol's call.
    await new Promise((r) => setTimeout(r, 200));
    expect(onIncoming).not.toHaveBeenCalled();
    expect(outgoing.state).toBe('connected');
    expect(incoming.state).toBe('connected');
    expect(p.bob.calls).toEqual([incoming]);
  });

  it('busy (client): bob’s TelegramCalls refuses a second call itself (maxConcurrentCalls 1)', async () => {
    p = await phones({ busy: 'client' });
    const { outgoing, incoming } = await connectCall(p.alice, p.bob, BOB);
    const onIncoming = vi.fn();
    p.bob.on('incoming', onIncoming);
    const busy = await p.carol.call(BOB);
    const info = await ended(busy);
    expect(info).toMatchObject({ reason: 'busy', by: 'remote', error: undefined });
    expect(p.telegram.getCall(busy.id!)).toMatchObject({ discardReason: 'busy', discardedBy: BOB });
    expect(onIncoming).not.toHaveBeenCalled();
    expect([outgoing.state, incoming.state]).toEqual(['connected', 'connected']);
  });

  it('an account with no incoming listener declines (busy) by itself', async () => {
    p = await phones();
    const out = await p.alice.call(CAROL);
    expect(await ended(out)).toMatchObject({ reason: 'busy', by: 'remote' });
    expect(p.carol.calls).toEqual([]);
  });
});

describe('missed calls', () => {
  it('the caller’s ring timeout: missed/local with RING_TIMEOUT at the caller, missed/remote at the callee', async () => {
    p = await phonesWith({}, {}, { alice: { timeouts: { ringMs: 1_000 } } });
    const incomingP = nextIncoming(p.bob);
    const started = Date.now();
    const outgoing = await p.alice.call(BOB);
    const connected = outgoing.whenConnected();
    connected.catch(() => undefined);
    const incoming = await within(incomingP, 5_000, 'incoming');
    const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(out).toMatchObject({ reason: 'missed', by: 'local', duration: 0 });
    expectTyped(out.error, CallTimeoutError, 'RING_TIMEOUT');
    expect(inc).toEqual({ reason: 'missed', by: 'remote', duration: 0, needRating: false, needDebug: false, error: undefined });
    expect(await rejection(connected)).toBe(out.error);
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'missed', discardedBy: ALICE });
  });

  it('the callee’s ring timeout: missed/local with RING_TIMEOUT at the callee, missed/remote at the caller', async () => {
    p = await phonesWith({}, {}, { bob: { timeouts: { ringMs: 1_000 } } });
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const incoming = await within(incomingP, 5_000, 'incoming');
    const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(inc).toMatchObject({ reason: 'missed', by: 'local' });
    expectTyped(inc.error, CallTimeoutError, 'RING_TIMEOUT');
    expect(out).toMatchObject({ reason: 'missed', by: 'remote', error: undefined });
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'missed', discardedBy: BOB });
  });

  it('the server’s ring timeout (ringTimeoutMs): both phones end missed/remote', async () => {
    p = await phones({ ringTimeoutMs: 1_000 });
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const connected = outgoing.whenConnected();
    connected.catch(() => undefined);
    const incoming = await within(incomingP, 5_000, 'incoming');
    const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(out).toMatchObject({ reason: 'missed', by: 'remote', error: undefined });
    expect(inc).toMatchObject({ reason: 'missed', by: 'remote', error: undefined });
    expectTyped(await rejection(connected), CallSignalingError, 'CALL_ENDED');
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'missed', discardedBy: undefined });
  });

  it('the caller hangs up while it rings: missed/local at the caller (Telegram’s reason for a cancelled call), missed/remote at the callee', async () => {
    p = await phones();
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const incoming = await within(incomingP, 5_000, 'incoming');
    await ringing(outgoing);
    expect(incoming.state).toBe('ringing');
    const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming)]);
    expect(out).toEqual({ reason: 'missed', by: 'local', duration: 0, needRating: false, needDebug: false, error: undefined });
    expect(inc).toEqual({ reason: 'missed', by: 'remote', duration: 0, needRating: false, needDebug: false, error: undefined });
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'missed', discardedBy: ALICE });
    expectTyped(await rejection(incoming.accept()), CallSignalingError, 'BAD_STATE');
  });

  it('the caller hangs up at once: it ends missed/local and nothing is left ringing anywhere', async () => {
    p = await phones();
    const seen: Call[] = [];
    p.bob.on('incoming', (c) => seen.push(c));
    const outgoing = await p.alice.call(BOB);
    expect(outgoing.state).toBe('requesting');
    const out = await outgoing.hangup();
    expect(out).toMatchObject({ reason: 'missed', by: 'local', duration: 0, error: undefined });
    // Depending on how far the request got, the server never saw the call or discarded it.
    expect(await eventually(() => p!.telegram.listCalls().every((c) => c.state === 'discarded'), 3_000)).toBe(true);
    for (const c of p.telegram.listCalls()) expect(c).toMatchObject({ discardReason: 'missed', discardedBy: ALICE });
    expect(await eventually(() => p!.bob.calls.length === 0, 3_000)).toBe(true);
    for (const c of seen) expect(await ended(c)).toMatchObject({ reason: 'missed', by: 'remote' });
  });

  it('the caller hangs up while phone.requestCall is in flight: discarded (missed) once the id is known; the callee’s call ends', async () => {
    p = await phones();
    const incomingP = nextIncoming(p.bob);
    let hungUpIn: string | undefined;
    p.telegram.hooks.request = ({ from, request }) => {
      if (from !== ALICE || request.className !== 'phone.RequestCall') return;
      const call = p!.alice.calls[0];
      hungUpIn = call?.state;
      void call?.hangup();
    };
    const outgoing = await p.alice.call(BOB);
    const out = await ended(outgoing);
    expect(hungUpIn).toBe('requesting');
    expect(out).toMatchObject({ reason: 'missed', by: 'local', duration: 0, error: undefined });
    expect(outgoing.id).toBeDefined();
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ state: 'discarded', discardReason: 'missed', discardedBy: ALICE });
    // phone.requestCall reached the server, so bob's phone rang and then stopped.
    const incoming = await within(incomingP, 3_000, 'incoming');
    expect(await ended(incoming)).toMatchObject({ reason: 'missed', by: 'remote', error: undefined });
  });
});

describe('ended before connecting: whenConnected() rejects with a typed error', () => {
  it('the caller hangs up while the media connects: the callee’s accept() rejects CALL_ENDED', async () => {
    const baseline = resourceBaseline();
    p = await phones();
    const incomingP = nextIncoming(p.bob);
    const outgoing = await p.alice.call(BOB);
    const incoming = await within(incomingP, 5_000, 'incoming');
    // Hang up as soon as keys are agreed: the transport has just started ICE.
    outgoing.once('emoji', () => void outgoing.hangup());
    const accepted = incoming.accept();
    accepted.catch(() => undefined);
    const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
    expect(inc).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
    expect(outgoing.emoji).toBeDefined();
    expectTyped(await rejection(accepted), CallSignalingError, 'CALL_ENDED');
    expectTyped(await rejection(outgoing.whenConnected()), CallSignalingError, 'CALL_ENDED');
    // The half-started peer connections were released.
    expect((await settled(baseline, 2_000)).handles).toBe(baseline.handles);
  });

  it('no signaling data gets through: the caller’s connect timeout ends it (TransportError), the callee ends disconnect/remote', async () => {
    const baseline = resourceBaseline();
    p = await phonesWith({}, {}, { alice: { timeouts: { connectMs: 1_500 } } });
    p.telegram.hooks.signaling = () => null;
    const { outgoing, incoming, connected, accepted } = await (async () => {
      const incomingP = nextIncoming(p!.bob);
      const outgoing = await p!.alice.call(BOB);
      const incoming = await within(incomingP, 5_000, 'incoming');
      const accepted = incoming.accept();
      const connected = outgoing.whenConnected();
      accepted.catch(() => undefined);
      connected.catch(() => undefined);
      return { outgoing, incoming, connected, accepted };
    })();
    const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
    expect(out).toMatchObject({ reason: 'disconnect', by: 'local' });
    expectTyped(out.error, TransportError, 'CONNECTION_LOST');
    expect(inc).toMatchObject({ reason: 'disconnect', by: 'remote', error: undefined });
    expect(await rejection(connected)).toBe(out.error);
    expectTyped(await rejection(accepted), CallSignalingError, 'CALL_ENDED');
    expect(p.telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'disconnect', discardedBy: ALICE });
    expect((await settled(baseline, 2_000)).handles).toBe(baseline.handles);
  });
});

describe('hang-up right as the call connects', () => {
  it('20 calls hung up the moment both sides are connected: each ends at once and releases every native handle', async () => {
    const baseline = resourceBaseline();
    // The library's fallbacks that would stretch a hang-up log a warning when they fire: the
    // transport's 5 s wait for native handles, the session's 3 s lost -> failed grace.
    const warnings: string[] = [];
    p = await phones({}, { logger: warningRecorder(warnings) });
    const fallbacks = (): string[] => warnings.filter((w) => /native handles not released in time|connection failed/.test(w));
    for (let i = 0; i < 20; i++) {
      const [caller, callee, calleeId] = i % 2 === 0 ? [p.alice, p.bob, BOB] : [p.bob, p.alice, ALICE];
      const { outgoing, incoming } = await connectCall(caller, callee, calleeId);
      // The data channel is usually still opening now.
      const [out, inc] = await Promise.all([outgoing.hangup(), ended(incoming, 10_000)]);
      expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
      expect(inc).toMatchObject({ reason: 'hangup', by: 'remote' });
      // A data channel the peer closed before the callee's onDataChannel ran never reports closed
      // (node-datachannel 0.33.4): the transport hands it to the garbage collector, which releases
      // it shortly after the call ended.
      await eventually(() => liveNativeHandles() === 0, 1_000);
      expect(liveNativeHandlesByKind(), `native handles after call ${i}`).toEqual({ 'peer-connection': 0, track: 0, 'data-channel': 0 });
      // Ended at once: both sides by the discard, with no fallback in the way, and everything
      // released before the next call starts.
      expect(fallbacks(), `fallbacks during call ${i}`).toEqual([]);
    }
    expect((await settled(baseline, 0)).handles).toBe(baseline.handles);
  }, 40_000);

  it('a signaling packet the callee sends after the server discarded the call (its discard update still on the way) does not turn the caller’s hang-up into a failure', async () => {
    // Signaling data relayed with 100 ms of delay; the phoneCallDiscarded update for bob held back
    // 400 ms (updates and results travel separately). The caller hangs up right after sending its
    // first signaling packet: that packet reaches bob after the discard, bob answers it (ack,
    // InitialSetup…) and phone.sendSignalingData fails with CALL_PEER_INVALID, before bob learns
    // the call was discarded.
    p = await phones({ signaling: { delayMs: { min: 100, max: 100 } } });
    const telegram = p.telegram;
    let outgoing: Call | undefined;
    let hungUp = false;
    telegram.hooks.signaling = (packet) => {
      if (packet.from === ALICE && !hungUp) {
        hungUp = true;
        setImmediate(() => void outgoing?.hangup());
      }
      return undefined;
    };
    const held: ReturnType<typeof setTimeout>[] = [];
    telegram.hooks.update = ({ to, update }) => {
      const u = update as unknown as { className?: string; phoneCall?: { className?: string } };
      if (to !== BOB || u.className !== 'UpdatePhoneCall' || u.phoneCall?.className !== 'PhoneCallDiscarded') return undefined;
      held.push(setTimeout(() => telegram.injectUpdate(BOB, update), 400));
      return null;
    };
    try {
      const incomingP = nextIncoming(p.bob);
      outgoing = await p.alice.call(BOB);
      const incoming = await within(incomingP, 5_000, 'incoming');
      incoming.accept().catch(() => undefined);
      const [out, inc] = await Promise.all([ended(outgoing), ended(incoming)]);
      expect(hungUp).toBe(true);
      expect(out).toMatchObject({ reason: 'hangup', by: 'local', error: undefined });
      expect(telegram.getCall(outgoing.id!)).toMatchObject({ discardReason: 'hangup', discardedBy: ALICE });
      // Bob's phone.sendSignalingData fails with CALL_PEER_INVALID before his discard update
      // arrives: he waits for it instead of ending the call as his own failure.
      expect(inc).toMatchObject({ reason: 'hangup', by: 'remote', error: undefined });
    } finally {
      for (const t of held) clearTimeout(t);
    }
  });
});

describe('listeners that throw', () => {
  it('do not keep the next listener from running; TelegramCalls and Call forward them to their error listeners', async () => {
    p = await phones();
    const accountErrors: string[] = [];
    p.bob.on('error', (err) => accountErrors.push(err.message));
    p.bob.on('incoming', () => {
      throw new Error('incoming bug');
    });
    const incomingP = nextIncoming(p.bob); // registered after the throwing one
    const outgoing = await p.alice.call(BOB);
    const callErrors: string[] = [];
    outgoing.on('error', (err) => callErrors.push(err.message));
    const reasons: string[] = [];
    outgoing.on('ended', () => {
      throw new Error('ended bug');
    });
    outgoing.on('ended', (info) => reasons.push(info.reason));
    const incoming = await within(incomingP, 5_000, 'incoming');
    await incoming.decline();
    await outgoing.whenEnded();
    expect(reasons).toEqual(['busy']);
    expect(callErrors).toEqual(['ended bug']);
    expect(accountErrors).toEqual(['incoming bug']);
  });
});
