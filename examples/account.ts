/**
 * Shared by the examples: your real Telegram account when API_ID, API_HASH and SESSION are set
 * (make a SESSION with `npx tsx examples/login.ts`), else the built-in fake Telegram with one
 * other phone, `@peer`, that answers your calls or calls you and talks.
 *
 * In your own project import from 'tgcall' instead of '../src/index.js'.
 */
import { consoleLogger, type TelegramCalls } from '../src/index.js';
import { createFakeWorld, type FakePeerOptions } from '../src/cli/fake-world.js';
import { credentialsFromEnv, openTelegramAccount } from '../src/cli/telegram-account.js';

export interface ExampleAccount {
  readonly calls: TelegramCalls;
  /** True on the fake Telegram. */
  readonly fake: boolean;
  /** Who to call on the fake Telegram. */
  readonly fakePeer: string;
  close(): Promise<void>;
}

export async function openAccount(fakePeer: FakePeerOptions): Promise<ExampleAccount> {
  const logger = process.env.VERBOSE ? consoleLogger('debug') : undefined;
  const credentials = credentialsFromEnv(process.env);
  if (credentials) {
    const account = await openTelegramAccount(credentials, logger ? { logger } : {});
    console.log(`logged in as ${account.name}`);
    return { calls: account.calls, fake: false, fakePeer: '', close: () => account.close() };
  }
  console.log('API_ID/API_HASH/SESSION not set: using the built-in fake Telegram');
  const world = await createFakeWorld(fakePeer, logger ? { logger } : {});
  return { calls: world.calls, fake: true, fakePeer: world.peerName, close: () => world.close() };
}
