/**
 * Without a route to Telegram, logging in fails with TELEGRAM_UNREACHABLE within the login
 * deadline instead of GramJS's endless retries: the session's data centre is a loopback address
 * with nothing on port 80 (connection refused), or a server there that accepts and never answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loginWithSession, openTelegramAccount } from '../../src/cli/telegram-account.js';
import { TgCallError } from '../../src/errors.js';
import { isClosed, loopbackSession, silentServer } from '../helpers/gramjs-session.js';
import { within } from '../e2e/helpers.js';

const credentials = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };
const CLOSED_HOST = '127.77.13.1';
const SILENT_HOST = '127.77.13.2';
let cleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function failure(promise: Promise<unknown>, ms: number): Promise<TgCallError> {
  const err = await within(promise.then(() => new Error('logged in?')), ms, 'the login to fail').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TgCallError);
  return err as TgCallError;
}

describe('an unreachable Telegram', { timeout: 30_000 }, () => {
  it('connection refused: TELEGRAM_UNREACHABLE after GramJS’s bounded attempts', async (ctx) => {
    if (!(await isClosed(CLOSED_HOST))) return ctx.skip(`something listens on ${CLOSED_HOST}:80`);
    const session = loopbackSession(CLOSED_HOST);
    const err = await failure(openTelegramAccount({ ...credentials, session }), 15_000);
    expect(err.code).toBe('TELEGRAM_UNREACHABLE');
    expect(err.message).toBe('cannot connect to Telegram: every attempt failed');
  });

  it('a server that accepts and never answers: TELEGRAM_UNREACHABLE at the deadline', async (ctx) => {
    const server = await silentServer(SILENT_HOST);
    if (!server) return ctx.skip(`cannot listen on ${SILENT_HOST}:80 (needs root)`);
    cleanup = server.close;
    const err = await failure(loginWithSession(credentials, loopbackSession(SILENT_HOST), 'SESSION_A', 2_000), 15_000);
    expect(err.code).toBe('TELEGRAM_UNREACHABLE');
    expect(err.message).toMatch(/within 2 s/);
  });

  it('a session that is not a GramJS string session is a usage error naming the variable', async () => {
    const err = await failure(loginWithSession(credentials, 'not-a-session', 'SESSION_B'), 5_000);
    expect(err.code).toBe('USAGE');
    expect(err.message).toMatch(/^SESSION_B is not a GramJS string session/);
  });
});
