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
 * `client.connect()` with a deadline and a check that it really connected: without a network
 * GramJS resolves connect() after its retries fail, and the next request then never settles (with
 * no handle keeping Node alive, the process just stops). Both become a typed error here.
 */
export async function connectClient(
  client: { connect(): Promise<unknown>; destroy(): Promise<unknown>; readonly connected?: boolean | undefined },
  timeoutMs = 15_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    // GramJS resolves connect() even when every retry failed
    if (client.connected !== true) throw new Error('every attempt failed');
  } catch (err) {
    await client.destroy().catch(() => undefined);
    throw new CallSignalingError('TELEGRAM_UNREACHABLE', `cannot connect to Telegram: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects a GramJS client with the saved session and wraps it in `TelegramCalls`. */
export async function openTelegramAccount(
  credentials: AccountCredentials,
  options: TelegramCallsOptions = {},
): Promise<TelegramAccount> {
  // loaded only for real accounts: the fake path should not pay for GramJS's start-up
  const { TelegramClient } = await import('telegram');
  const { StringSession } = await import('telegram/sessions/index.js');
  const { Logger, LogLevel } = await import('telegram/extensions/Logger.js');
  let session: InstanceType<typeof StringSession>;
  try {
    session = new StringSession(credentials.session);
  } catch {
    throw new UsageError('SESSION is not a GramJS string session: make one with `npx tsx examples/login.ts`');
  }
  const client = new TelegramClient(session, credentials.apiId, credentials.apiHash, {
    connectionRetries: 3,
    baseLogger: new Logger(LogLevel.ERROR),
  });
  await connectClient(client);
  if (!(await client.checkAuthorization())) {
    await client.destroy();
    throw new UsageError('SESSION is not logged in: make a new one with `npx tsx examples/login.ts`');
  }
  const me = (await client.getMe()) as { id?: { toString(): string }; username?: string };
  const calls = new TelegramCalls(client, options);
  await calls.start();
  return {
    calls,
    name: `${me.username ? `@${me.username}` : 'account'} (${me.id?.toString() ?? '?'})`,
    async close() {
      await calls.stop();
      await client.destroy();
    },
  };
}
