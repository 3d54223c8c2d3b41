/**
 * Logs in to Telegram once and prints a SESSION string for the other examples and the CLI.
 *
 *   API_ID=12345 API_HASH=abcdef npx tsx examples/login.ts
 *
 * API_ID and API_HASH come from https://my.telegram.org ("API development tools"). It asks for
 * the phone number, the login code and the 2FA password if the account has one. Keep the printed
 * SESSION secret: it is a logged-in session of your account.
 */
import { createInterface } from 'node:readline/promises';
import { TelegramClient } from 'telegram';
import { Logger, LogLevel } from 'telegram/extensions/Logger.js';
import { StringSession } from 'telegram/sessions/index.js';
import { connectClient, GRAMJS_CONNECTION } from '../src/cli/telegram-account.js';

const apiId = Number(process.env.API_ID);
const apiHash = process.env.API_HASH ?? '';
if (!Number.isSafeInteger(apiId) || apiId <= 0 || !apiHash) {
  console.error('set API_ID and API_HASH (from https://my.telegram.org) first');
  process.exitCode = 2;
} else {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const session = new StringSession('');
  const client = new TelegramClient(session, apiId, apiHash, { ...GRAMJS_CONNECTION, baseLogger: new Logger(LogLevel.NONE) });
  try {
    await connectClient(client);
    await client.start({
      phoneNumber: () => rl.question('phone number (international format): '),
      phoneCode: () => rl.question('login code: '),
      password: () => rl.question('2FA password: '),
      onError: (err) => console.error('login error:', err.message),
    });
    console.log('\nlogged in. Your SESSION (keep it secret):\n');
    console.log(session.save());
    console.log('\nthen: API_ID=… API_HASH=… SESSION=… TARGET=@someone npm run demo');
  } catch (err) {
    console.error('login failed:', (err as Error).message);
    process.exitCode = 1;
  } finally {
    rl.close();
    await client.destroy();
  }
}
