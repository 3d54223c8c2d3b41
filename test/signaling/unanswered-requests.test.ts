/**
 * Issue 15 defect 2: a server (or client) that never answers must not hang a call or start().
 * messages.getDhConfig left unanswered used to leave an outgoing call in `requesting` forever;
 * getSelfUserId left unanswered hung start() and call().
 */
import { describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/fake/index.js';
import { TelegramCalls } from '../../src/index.js';
import { PhoneCalls, type MtprotoClient } from '../../src/signaling/index.js';
import { ALICE, BOB } from './helpers.js';

describe('requests that are never answered', () => {
  it('an outgoing call whose messages.getDhConfig never answers ends with RECEIVE_TIMEOUT', async () => {
    const tg = new FakeTelegram({ seed: 5 });
    tg.createClient(BOB, 'bob');
    tg.hooks.request = ({ request }) => (request.className === 'messages.GetDhConfig' ? 'drop' : undefined);
    const alice = new PhoneCalls({ mtproto: tg.createClient(ALICE, 'alice'), timeouts: { receiveMs: 150 } });
    const out = await alice.call(BOB);
    expect(out.state).toBe('requesting');
    const ended = await out.whenEnded();
    expect(ended).toMatchObject({ by: 'local', error: { code: 'RECEIVE_TIMEOUT' } });
    // The server never heard of the call: nothing was requested, nothing to discard.
    // (help.getConfig, for the account's call timeouts, is the only other request.)
    expect(tg.requestLog.map((r) => r.method).filter((m) => m !== 'help.GetConfig')).toEqual(['messages.GetDhConfig']);
    await alice.stop();
    tg.close();
    expect(tg.pendingTimers).toBe(0);
  });

  it('start() rejects with START_TIMEOUT when getSelfUserId never answers, and can be retried', async () => {
    const tg = new FakeTelegram({ seed: 5 });
    const fake = tg.createClient(ALICE, 'alice');
    let answer = false;
    const client: MtprotoClient = {
      invoke: (r) => fake.invoke(r),
      onUpdate: (l) => fake.onUpdate(l),
      getSelfUserId: () => (answer ? fake.getSelfUserId() : new Promise<bigint>(() => undefined)),
    };
    const phone = new PhoneCalls({ mtproto: client, timeouts: { receiveMs: 100 } });
    await expect(phone.start()).rejects.toMatchObject({ name: 'CallTimeoutError', code: 'START_TIMEOUT' });
    answer = true;
    await phone.start();
    expect(phone.userId).toBe(ALICE);
    await phone.stop();
    tg.close();
  });

  it('TelegramCalls.call() rejects with START_TIMEOUT instead of hanging on getSelfUserId', async () => {
    const client: MtprotoClient = {
      invoke: () => new Promise(() => undefined),
      onUpdate: () => () => undefined,
      getSelfUserId: () => new Promise<bigint>(() => undefined),
    };
    const calls = new TelegramCalls(client, { timeouts: { receiveMs: 100 } });
    await expect(calls.call(BOB)).rejects.toMatchObject({ code: 'START_TIMEOUT' });
    await expect(calls.start()).rejects.toMatchObject({ code: 'START_TIMEOUT' });
  });
});
