/**
 * `tgcall check` (and `npm run check:telegram`): the accounts from the environment, or the fake
 * Telegram with `--fake`; the report step by step as it happens, or as JSON at the end. Without
 * the variables it says what is needed and exits 2 — it never falls back to the fake silently, so
 * a "passed" always says what it ran against.
 */
import { consoleLogger } from '../logger.js';
import type { Command } from './args.js';
import { HELP } from './args.js';
import { checkCredentialsFromEnv, fakeCheckAccounts, telegramCheckAccounts } from './check-accounts.js';
import { checkHeader, formatStep, formatSummary, variantTitle } from './check-report.js';
import { runCheck, type CheckAccounts } from './check.js';
import { UsageError } from './telegram-account.js';

export interface CheckIo {
  readonly env: NodeJS.ProcessEnv;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Makes the accounts (tests put a login deadline or their own accounts here). */
  readonly accounts?: () => Promise<CheckAccounts>;
}

export async function checkCommand(command: Extract<Command, { name: 'check' }>, io: CheckIo): Promise<number> {
  let connect: () => Promise<CheckAccounts>;
  if (io.accounts) connect = io.accounts;
  else if (command.fake) connect = fakeCheckAccounts;
  else {
    try {
      const credentials = checkCredentialsFromEnv(io.env);
      connect = () => telegramCheckAccounts(credentials);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.err(`tgcall check: ${e.message}\n\n${HELP.check}`);
      return 2;
    }
  }
  const stream = !command.json;
  let printedHeader = false;
  const report = await runCheck(
    async () => {
      const accounts = await connect();
      if (stream) io.out(checkHeader(accounts.against));
      printedHeader = true;
      return accounts;
    },
    {
      seconds: command.seconds,
      ...(command.only ? { variants: [command.only] } : {}),
      calls: command.logLevel ? { logger: consoleLogger(command.logLevel) } : {},
      onVariant: (variant) => stream && io.out(variantTitle(variant)),
      onStep: (_, step) => {
        if (!stream) return;
        if (!printedHeader) io.out(checkHeader(command.fake ? 'fake' : 'telegram'));
        printedHeader = true;
        io.out(formatStep(step));
      },
    },
  );
  if (stream) for (const line of formatSummary(report)) io.out(line);
  else io.out(JSON.stringify(report, null, 2));
  // a session or account that is wrong is bad usage, as in the other commands
  if (report.login.code === 'USAGE') return 2;
  return report.ok ? 0 : 1;
}
