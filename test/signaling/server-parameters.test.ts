/**
 * What the server attaches to a call and the client must act on, through the fake Telegram:
 * `custom_parameters` (logged; `network_use_mtproto` refused at once).
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import type { SignalingState } from '../../src/signaling/index.js';
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
