/**
 * What the server attaches to a call and the client must act on, through the fake Telegram:
 * `custom_parameters` (logged; `network_use_mtproto` refused at once), the call timeouts of
 * help.getConfig (cached per account, bounded wait, explicit options win).
 */
import { describe, expect, it } from 'vitest';
import { FakeTelegram, type FakeClient } from '../../src/fake/index.js';
import type { Logger } from '../../src/logger.js';
import { DEFAULT_CALL_TIMEOUTS, PhoneCalls, type MtprotoClient, type SignalingState } from '../../src/signaling/index.js';
import { ALICE, BOB, connect, endedWith, nextIncoming, useSignalingWorld, type Setup } from './helpers.js';

const setup = useSignalingWorld();
let s: Setup | undefined;

/** Keeps every record as `level message fields`. */
function recorder(lines: string[]): Logger {
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>): void => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  const logger: Logger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error'), child: () => logger };
  return logger;
}

describe('custom_parameters', () => {
  it('are logged once per side when the call becomes ready, as the server sent them', async () => {
    const lines: string[] = [];
    const logger = recorder(lines);
    s = await setup({ customParameters: { network_signaling_nosctp: true, some_experiment: 3 } }, { alice: { logger }, bob: { logger } });
    const { out, inc } = await connect(s);
    const ready = lines.filter((l) => l.startsWith('info call ready'));
    expect(ready).toHaveLength(2);
    for (const line of ready) {
      expect(line).toContain('"version":"8.0.0"');
      expect(line).toContain(JSON.stringify(JSON.stringify({ network_signaling_nosctp: true, some_experiment: 3 })));
    }
    out.hangup();
    await inc.whenEnded();
  });

  it('network_use_mtproto: true ends the call on both sides as soon as the key is agreed, with UNSUPPORTED_CUSTOM_PARAMETER naming it', async () => {
    // Deadlines far away: the end cannot come from a timeout.
    const timeouts = { receiveMs: 600_000, connectMs: 600_000, ringMs: 600_000 };
    s = await setup({ customParameters: { network_use_mtproto: true } }, { alice: { timeouts }, bob: { timeouts } });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const states: SignalingState[] = [];
    out.on('state', (state) => states.push(state));
    let readyEvents = 0;
    out.on('ready', () => readyEvents++);
    const inc = await incoming;
    inc.accept();
    const [endOut, endIn] = await Promise.all([out.whenEnded(), inc.whenEnded()]);
    for (const end of [endOut, endIn]) {
      endedWith(end, { reason: 'disconnect', code: 'UNSUPPORTED_CUSTOM_PARAMETER' });
      expect(end.error?.message).toContain('network_use_mtproto');
    }
    expect(readyEvents).toBe(0);
    expect(states).not.toContain('ready');
    await expect(out.whenReady()).rejects.toMatchObject({ code: 'UNSUPPORTED_CUSTOM_PARAMETER' });
    const server = s.tg.listCalls()[0]!;
    expect(server).toMatchObject({ state: 'discarded', discardReason: 'disconnect', adminId: ALICE });
  });

  it('only a JSON true switches a flag on (tgcalls getCustomParameterBool): "true" and false leave the call alone', async () => {
    for (const value of ['true', false, 1]) {
      s = await setup({ customParameters: { network_use_mtproto: value } });
      const { readyOut, readyIn, out, inc } = await connect(s);
      expect(readyOut.customParameters).toEqual({ network_use_mtproto: value });
      expect(readyIn.version).toBe('8.0.0');
      out.hangup();
      await inc.whenEnded();
    }
  });
});

describe('call timeouts from help.getConfig', () => {
  it('are read once per account at start and used by calls placed and received; explicit options win', async () => {
    s = await setup({ config: { callRingTimeoutMs: 150, callReceiveTimeoutMs: 7_000, callConnectTimeoutMs: 9_000 } }, { alice: { timeouts: { receiveMs: 12_000 } } });
    const incoming = nextIncoming(s.bob);
    const out = await s.alice.call(BOB);
    const inc = await incoming;
    expect(out.timeouts).toMatchObject({ ringMs: 150, receiveMs: 12_000, connectMs: 9_000 });
    expect(inc.timeouts).toMatchObject({ ringMs: 150, receiveMs: 7_000, connectMs: 9_000 });
    expect(s.bob.serverTimeouts).toEqual({ ringMs: 150, receiveMs: 7_000, connectMs: 9_000, packetMs: 10_000 });
    // The server's 150 ms ring timeout ends the unanswered call.
    const [endIn, endOut] = await Promise.all([inc.whenEnded(), out.whenEnded()]);
    endedWith(endIn, { reason: 'missed', code: 'RING_TIMEOUT' });
    expect(endIn.error?.message).toContain('150 ms');
    expect(endOut.reason).toBe('missed');
    // A second call asks nothing more: cached until `expires`.
    const second = nextIncoming(s.bob);
    const again = await s.alice.call(BOB);
    const inc2 = await second;
    again.hangup();
    await inc2.whenEnded();
    const fetches = s.tg.requestLog.filter((r) => r.method === 'help.GetConfig');
    expect(fetches.map((r) => r.from).sort()).toEqual([ALICE, BOB]);
  });

  it('a failing help.getConfig leaves the defaults, and is not asked again before a minute has passed', async () => {
    s = await setup({ config: false });
    const { out, inc } = await connect(s);
    expect(out.timeouts).toEqual(DEFAULT_CALL_TIMEOUTS);
    expect(inc.timeouts).toEqual(DEFAULT_CALL_TIMEOUTS);
    out.hangup();
    await inc.whenEnded();
    const asked = (): number => s!.tg.requestLog.filter((r) => r.method === 'help.GetConfig' && r.from === ALICE).length;
    expect(asked()).toBe(1);
    s.tg.setConfig({ callRingTimeoutMs: 45_000 });
    await connect(s).then(async ({ out: o, inc: i }) => {
      o.hangup();
      await i.whenEnded();
    });
    expect(asked()).toBe(1);
    s.clock.advance(61_000);
    const { out: later, inc: laterIn } = await connect(s);
    expect(asked()).toBe(2);
    expect(later.timeouts.ringMs).toBe(45_000);
    later.hangup();
    await laterIn.whenEnded();
  });

  it('an expired config is fetched again: new values reach the next call', async () => {
    s = await setup({ config: { callRingTimeoutMs: 600_000, expiresInSeconds: 60 } });
    const first = await connect(s);
    expect(first.out.timeouts.ringMs).toBe(600_000);
    first.out.hangup();
    await first.inc.whenEnded();
    s.tg.setConfig({ callRingTimeoutMs: 700_000 });
    s.clock.advance(61_000);
    const second = await connect(s);
    expect(second.out.timeouts.ringMs).toBe(700_000);
    second.out.hangup();
    await second.inc.whenEnded();
  });

  it('a help.getConfig that never answers delays an outgoing call by at most waitMs; the call runs on the defaults', async () => {
    const tg = new FakeTelegram({ seed: 3 });
    const silent = (client: FakeClient): MtprotoClient => ({
      invoke: (request) => ((request as { className?: string }).className === 'help.GetConfig' ? new Promise(() => undefined) : client.invoke(request)),
      onUpdate: (listener) => client.onUpdate(listener),
      getSelfUserId: () => client.getSelfUserId(),
    });
    const alice = new PhoneCalls({ mtproto: silent(tg.createClient(ALICE, 'alice')), serverConfig: { waitMs: 20 } });
    const bob = new PhoneCalls({ mtproto: silent(tg.createClient(BOB, 'bob')), serverConfig: { waitMs: 20 } });
    try {
      await Promise.all([alice.start(), bob.start()]);
      const incoming = nextIncoming(bob);
      const out = await alice.call(BOB);
      const inc = await incoming;
      expect(out.timeouts).toEqual(DEFAULT_CALL_TIMEOUTS);
      inc.accept();
      await Promise.all([out.whenReady(), inc.whenReady()]);
      out.hangup();
      await inc.whenEnded();
    } finally {
      await Promise.all([alice.stop(), bob.stop()]);
      tg.close();
    }
  });
});
