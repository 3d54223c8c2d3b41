/**
 * The two accounts `tgcall check` uses: real ones from `API_ID`, `API_HASH`, `SESSION_A`,
 * `SESSION_B`, or two accounts on the built-in fake Telegram with a fake Telegram reflector, so
 * the relay-only call has a relay to take. Either way A and B get fresh `TelegramCalls` per
 * variant over the same logged-in clients.
 */
import { TelegramCalls, type CallTarget, type TelegramCallsOptions } from '../call/telegram-calls.js';
import { FakeReflector, FakeTelegram } from '../fake/index.js';
import { readLong, toLong } from '../signaling/long.js';
import type { CheckAccounts, CheckPair } from './check.js';
import { loginWithSession, UsageError, type GramJsLogin } from './telegram-account.js';

export interface CheckCredentials {
  readonly apiId: number;
  readonly apiHash: string;
  readonly sessionA: string;
  readonly sessionB: string;
}

export const CHECK_VARIABLES = ['API_ID', 'API_HASH', 'SESSION_A', 'SESSION_B'] as const;

/** The credentials in `env`; a UsageError naming what is missing when any variable is unset. */
export function checkCredentialsFromEnv(env: NodeJS.ProcessEnv): CheckCredentials {
  const [apiId, apiHash, sessionA, sessionB] = CHECK_VARIABLES.map((name) => env[name]?.trim() || undefined);
  const missing = CHECK_VARIABLES.filter((_, i) => ![apiId, apiHash, sessionA, sessionB][i]);
  if (missing.length > 0) throw new UsageError(`${missing.join(', ')} not set`);
  const id = Number(apiId);
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`API_ID must be a positive integer, got "${apiId}"`);
  if (sessionA === sessionB) throw new UsageError('SESSION_A and SESSION_B are the same session: the check needs two accounts');
  return { apiId: id, apiHash: apiHash!, sessionA: sessionA!, sessionB: sessionB! };
}

/** Logs both accounts in (in parallel, each within the login deadline) and finds B from A. */
export async function telegramCheckAccounts(credentials: CheckCredentials, loginDeadlineMs?: number): Promise<CheckAccounts> {
  const logins = await Promise.allSettled([
    loginWithSession(credentials, credentials.sessionA, 'SESSION_A', loginDeadlineMs),
    loginWithSession(credentials, credentials.sessionB, 'SESSION_B', loginDeadlineMs),
  ]);
  const close = async (): Promise<void> => {
    for (const login of logins) if (login.status === 'fulfilled') await login.value.client.destroy().catch(() => undefined);
  };
  const failure = logins.find((l) => l.status === 'rejected');
  if (failure) {
    await close();
    throw failure.reason;
  }
  const [a, b] = logins.map((l) => (l as PromiseFulfilledResult<GramJsLogin>).value) as [GramJsLogin, GramJsLogin];
  if (a.userId === b.userId) {
    await close();
    throw new UsageError(`SESSION_A and SESSION_B are both ${a.name}: the check needs two accounts`);
  }
  let target: CallTarget;
  try {
    target = await targetOf(a, b);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    against: 'telegram',
    names: `A ${a.name}, B ${b.name}`,
    async open(options) {
      return pairOf(new TelegramCalls(a.client, options), new TelegramCalls(b.client, options), target);
    },
    close,
  };
}

/**
 * B as A can call it: its username, else B in A's contacts (phone.requestCall needs the access
 * hash A sees, and an access hash is per viewer, so B's own login cannot supply it).
 */
async function targetOf(a: GramJsLogin, b: GramJsLogin): Promise<CallTarget> {
  if (b.username) return `@${b.username}`;
  const { Api } = await import('telegram');
  const contacts = await withTimeout(a.client.invoke(new Api.contacts.GetContacts({ hash: toLong(0n) })), 10_000).catch(() => undefined);
  const users = contacts && 'users' in contacts ? contacts.users : [];
  for (const user of users) {
    if (user instanceof Api.User && readLong(user.id) === b.userId && user.accessHash !== undefined) {
      return { userId: b.userId, accessHash: readLong(user.accessHash, 'access hash') };
    }
  }
  throw new UsageError(`A cannot find B ${b.name}: give B a username, or make B a contact of A`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Two accounts on a fresh fake Telegram whose calls list a fake reflector (p2p allowed).
 * `reflector: false` lists none, so a relay-only call has nothing to take (tests of a failing check).
 */
export async function fakeCheckAccounts(options: { readonly reflector?: boolean } = {}): Promise<CheckAccounts> {
  const reflector = options.reflector === false ? undefined : await FakeReflector.start({ host: '127.0.0.1', tcp: false });
  const telegram = new FakeTelegram({
    // What Telegram hands out: a reflector with the call's peer tag (here one fixed tag: one call at a time).
    connections: reflector
      ? [{ kind: 'reflector', id: 1n, ip: '127.0.0.1', port: reflector.port, peerTag: new Uint8Array(16).fill(0x5a) }]
      : [],
  });
  const clients = [telegram.createClient(1001n, 'alice'), telegram.createClient(1002n, 'bob')] as const;
  return {
    against: 'fake',
    names: 'A @alice (1001), B @bob (1002)',
    async open(options) {
      // calls on one machine go over loopback
      const local: TelegramCallsOptions = { bindAddress: '127.0.0.1', ...options };
      return pairOf(new TelegramCalls(clients[0], local), new TelegramCalls(clients[1], local), '@bob');
    },
    async close() {
      telegram.close();
      await reflector?.close();
    },
  };
}

async function pairOf(a: TelegramCalls, b: TelegramCalls, target: CallTarget): Promise<CheckPair> {
  const stop = (): Promise<unknown> => Promise.all([a.stop(), b.stop()]);
  try {
    await Promise.all([a.start(), b.start()]);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { a, b, target, close: async () => void (await stop()) };
}
