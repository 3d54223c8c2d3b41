/**
 * A real Telegram account for the CLI and the examples, from environment variables:
 * `API_ID` and `API_HASH` (https://my.telegram.org) and `SESSION` (a GramJS StringSession; make
 * one with `npx tsx examples/login.ts`).
 */
import { TelegramCalls, type TelegramCallsOptions } from '../call/telegram-calls.js';
import { CallSignalingError, TgCallError } from '../errors.js';

export interface AccountCredentials {
  readonly apiId: number;
  readonly apiHash: string;
  readonly session: string;
}

/** A usage problem the CLI reports with exit code 2. */
export class UsageError extends TgCallError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * The credentials in `env`, or undefined when none of the three variables is set. Half a
 * configuration is an error rather than a silent fallback to the fake Telegram.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): AccountCredentials | undefined {
  const apiId = env.API_ID?.trim();
  const apiHash = env.API_HASH?.trim();
  const session = env.SESSION?.trim();
  if (!apiId && !apiHash && !session) return undefined;
  const missing = [!apiId && 'API_ID', !apiHash && 'API_HASH', !session && 'SESSION'].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`${missing.join(', ')} not set (a real account needs API_ID, API_HASH and SESSION; examples/login.ts makes a SESSION)`);
  }
  const id = Number(apiId);
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`API_ID must be a positive integer, got "${apiId}"`);
  return { apiId: id, apiHash: apiHash!, session: session! };
}

export interface TelegramAccount {
  readonly calls: TelegramCalls;
  /** "@username (id)" of the logged-in account. */
  readonly name: string;
  close(): Promise<void>;
}

/**
 * GramJS retries a connection forever by default (`connectionRetries: Infinity`, 10 s per
 * attempt): two attempts of at most 5 s, 0.5 s apart, so an unreachable Telegram is reported in
 * seconds (node_modules/telegram/network/MTProtoSender.js, connect()).
 */
export const GRAMJS_CONNECTION = { connectionRetries: 2, retryDelay: 500, timeout: 5 } as const;

/** How long connecting and logging in (connect, checkAuthorization, getMe) may take. */
export const LOGIN_DEADLINE_MS = 12_000;

/**
 * `client.connect()` with a deadline and a check that it really connected: without a network
 * GramJS resolves connect() after its retries fail, and the next request then never settles (with
 * no handle keeping Node alive, the process just stops). Both become a typed error here.
 */
export async function connectClient(
  client: { connect(): Promise<unknown>; destroy(): Promise<unknown>; readonly connected?: boolean | undefined },
  timeoutMs = LOGIN_DEADLINE_MS,
): Promise<void> {
  try {
    await withDeadline(client.connect(), timeoutMs, `no connection within ${timeoutMs / 1000} s`);
    // GramJS resolves connect() even when every retry failed
    if (client.connected !== true) throw new Error('every attempt failed');
  } catch (err) {
    await client.destroy().catch(() => undefined);
    throw unreachable(err);
  }
}

/** A connected, logged-in GramJS client for one StringSession, and who it is. */
export interface GramJsLogin {
  readonly client: import('telegram').TelegramClient;
  readonly userId: bigint;
  readonly username: string | undefined;
  /** "@username (id)", or "account (id)". */
  readonly name: string;
}

/**
 * Connects with `session` (the value of the variable `variable`, named in errors; the session is
 * never printed) and checks it is logged in. Connecting and every request until `getMe` share one
 * deadline: a Telegram that accepts the connection but never answers is unreachable too.
 */
export async function loginWithSession(
  credentials: { readonly apiId: number; readonly apiHash: string },
  session: string,
  variable: string,
  deadlineMs = LOGIN_DEADLINE_MS,
): Promise<GramJsLogin> {
  // loaded only for real accounts: the fake path should not pay for GramJS's start-up
  const { TelegramClient } = await import('telegram');
  const { StringSession } = await import('telegram/sessions/index.js');
  const { Logger, LogLevel } = await import('telegram/extensions/Logger.js');
  let stringSession: InstanceType<typeof StringSession>;
  try {
    stringSession = new StringSession(session);
  } catch {
    throw new UsageError(`${variable} is not a GramJS string session: make one with \`npx tsx examples/login.ts\``);
  }
  const client = new TelegramClient(stringSession, credentials.apiId, credentials.apiHash, {
    ...GRAMJS_CONNECTION,
    baseLogger: new Logger(LogLevel.NONE),
  });
  const startedAt = Date.now();
  await connectClient(client, deadlineMs);
  try {
    const left = (): number => Math.max(1, deadlineMs - (Date.now() - startedAt));
    const silent = (): string => `no answer from Telegram within ${deadlineMs / 1000} s`;
    if (!(await withDeadline(client.checkAuthorization(), left(), silent()))) {
      throw new UsageError(`${variable} is not logged in: make a new one with \`npx tsx examples/login.ts\``);
    }
    const me = (await withDeadline(client.getMe(), left(), silent())) as { id?: { toString(): string }; username?: string };
    const id = me.id?.toString() ?? '0';
    return {
      client,
      userId: BigInt(id),
      username: me.username || undefined,
      name: `${me.username ? `@${me.username}` : 'account'} (${id})`,
    };
  } catch (err) {
    await client.destroy().catch(() => undefined);
    throw err instanceof TgCallError ? err : unreachable(err);
  }
}

/** Connects a GramJS client with the saved session and wraps it in `TelegramCalls`. */
export async function openTelegramAccount(
  credentials: AccountCredentials,
  options: TelegramCallsOptions = {},
): Promise<TelegramAccount> {
  const { client, name } = await loginWithSession(credentials, credentials.session, 'SESSION');
  const calls = new TelegramCalls(client, options);
  await calls.start();
  return {
    calls,
    name,
    async close() {
      await calls.stop();
      await client.destroy();
    },
  };
}

function unreachable(err: unknown): CallSignalingError {
  return new CallSignalingError('TELEGRAM_UNREACHABLE', `cannot connect to Telegram: ${(err as Error).message}`);
}

/** `promise`, or a rejection with `message` after `ms`; the timer never outlives the race. */
async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
